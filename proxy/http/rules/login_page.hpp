// The login page a browser gets instead of the native Basic dialog.
#pragma once

#include <string>
#include <string_view>

namespace airgate::http::rules {

struct LoginPage {
  std::string_view realm;     // the page's title and heading
  std::string_view rd;        // where to go after login (already safe_redirect_target'ed)
  std::string_view csrf;      // the hidden login-CSRF field
  std::string_view username;  // prefilled after a failed attempt
  std::string_view message;   // why the form is shown again ("" on first show)
  std::string_view request_id;
};

// The whole HTML document. Works without JavaScript; password managers
// recognise the fields (autocomplete="username" / "current-password").
std::string render_login_page(const LoginPage& page);

}  // namespace airgate::http::rules
