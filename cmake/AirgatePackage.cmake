# `make package` (cpack -G DEB in the build directory): the Debian package
# build/airgate_<version>_<arch>.deb. The version is project(VERSION) in
# CMakeLists.txt, as for `airgate version`. The files besides the binary are in
# packaging/; the maintainer scripts there are the ones debhelper would write
# for a unit (deb-systemd-helper / deb-systemd-invoke), plus the airgate user
# and /etc/airgate.
set(_pkg ${CMAKE_SOURCE_DIR}/packaging)
set(_gen ${CMAKE_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${_gen})

install(TARGETS airgate RUNTIME DESTINATION sbin COMPONENT airgate)
install(FILES ${_pkg}/airgate.service DESTINATION /lib/systemd/system COMPONENT airgate)
install(FILES ${_pkg}/airgate.yaml DESTINATION /etc/airgate COMPONENT airgate)
install(DIRECTORY DESTINATION /etc/airgate/tls COMPONENT airgate)

# Debian wants the man page and the changelog compressed with gzip -9n (no
# timestamp, so the package is reproducible).
configure_file(${_pkg}/changelog.in ${_gen}/changelog @ONLY)
find_program(GZIP_PROGRAM gzip REQUIRED)
add_custom_command(
  OUTPUT ${_gen}/airgate.8.gz ${_gen}/changelog.gz
  COMMAND ${GZIP_PROGRAM} -9nc ${_pkg}/airgate.8 > ${_gen}/airgate.8.gz
  COMMAND ${GZIP_PROGRAM} -9nc ${_gen}/changelog > ${_gen}/changelog.gz
  DEPENDS ${_pkg}/airgate.8 ${_gen}/changelog
  COMMENT "Compressing the man page and the changelog for the package")
# Documentation: the README and docs/*.md (the reference pages the conffile points to).
file(GLOB _docs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
set(_docs_gz)
foreach(doc ${_docs})
  get_filename_component(name ${doc} NAME)
  add_custom_command(OUTPUT ${_gen}/doc/${name}.gz
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${_gen}/doc
                     COMMAND ${GZIP_PROGRAM} -9nc ${doc} > ${_gen}/doc/${name}.gz
                     DEPENDS ${doc})
  list(APPEND _docs_gz ${_gen}/doc/${name}.gz)
endforeach()
add_custom_target(airgate_package_files ALL DEPENDS ${_gen}/airgate.8.gz ${_gen}/changelog.gz ${_docs_gz})
install(FILES ${_gen}/airgate.8.gz DESTINATION share/man/man8 COMPONENT airgate)
install(FILES ${_pkg}/lintian-overrides DESTINATION share/lintian/overrides RENAME airgate COMPONENT airgate)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${_pkg}/copyright ${_gen}/changelog.gz ${_docs_gz}
        DESTINATION share/doc/airgate COMPONENT airgate)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME airgate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "airgate maintainers <maintainers@airgate.example>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "TLS-terminating authenticating reverse proxy")
set(CPACK_PACKAGE_DESCRIPTION
    "airgate sits in front of one web application such as Airbyte: it terminates\n\
TLS, asks for a user name and password (HTTP Basic, or a login page with a\n\
session cookie for browsers), checks an optional IP allowlist and forwards\n\
the requests it lets through.\n\
.\n\
This package runs it as a hardened systemd service (Type=notify, an\n\
unprivileged user with only CAP_NET_BIND_SERVICE, a strict sandbox).")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${_pkg}/conffiles ${_pkg}/postinst ${_pkg}/prerm ${_pkg}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Directories such as /etc and /usr belong to base-files: the package lists only its own.
set(CPACK_DEB_COMPONENT_INSTALL OFF)
set(CPACK_THREADS 1)
include(CPack)
