// Local replies (design §3 "Error responses"): one place turns a status, a
// stable reason and a plain-words message into a short HTML or JSON body.
#pragma once

#include "core/reason.hpp"

#include <string>
#include <string_view>

namespace airgate::http::rules {

struct ErrorPage {
  std::string content_type;
  std::string body;
};

// JSON when the client accepts JSON or the path is under /api/ (Airbyte's UI
// shows a JSON error there instead of "non-json response").
bool wants_json(std::string_view accept, std::string_view path);

// `reason`'s word is the JSON body's `error` (as in the access log and metrics);
// `message` says in plain words which limit or failure fired. Neither may
// contain secrets or internal addresses: callers pass fixed texts and numbers.
// The HTML page (the look of the login page) adds what the user can do about
// it and the request id (the access log's `rid`) to quote to an administrator;
// the JSON body carries the id as `request_id`.
// `time` ("2026-12-02 17:40:12 UTC", may be empty) is shown on the HTML page.
ErrorPage render_error(int status, core::Reason reason, std::string_view message, bool json,
                       std::string_view request_id = {}, std::string_view time = {});

// One sentence a user can act on, for the HTML error page of `status`.
std::string_view what_to_do(int status);

// "Payload Too Large" for 413 and so on.
std::string_view status_text(int status);

}  // namespace airgate::http::rules
