#include "http/rules/html.hpp"

namespace airgate::http::rules {
namespace {

constexpr std::string_view kStyle = R"css(
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--fg:#1d2330;--muted:#5b6476;--line:#d6dae1;
--accent:#615eff;--accent-fg:#fff;--err-bg:#fdecec;--err-fg:#a01d1d}
@media (prefers-color-scheme:dark){:root{--bg:#14161c;--card:#1e2129;--fg:#e8eaf0;--muted:#a2a9b8;
--line:#343946;--accent:#8684ff;--accent-fg:#0d0d1a;--err-bg:#3a1c1f;--err-fg:#ffb4b4}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:24px;
background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{width:100%;max-width:400px;background:var(--card);border:1px solid var(--line);border-radius:12px;
padding:32px;box-shadow:0 4px 24px rgba(0,0,0,.06)}
h1{font-size:1.375rem;margin:0 0 4px}
p{margin:0 0 16px;color:var(--muted)}
label{display:block;font-weight:600;margin:16px 0 6px}
input[type=text],input[type=password]{width:100%;padding:10px 12px;font:inherit;color:inherit;
background:transparent;border:1px solid var(--line);border-radius:8px}
input:focus-visible,button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button{margin-top:24px;width:100%;padding:11px;font:inherit;font-weight:600;color:var(--accent-fg);
background:var(--accent);border:0;border-radius:8px;cursor:pointer}
.error{background:var(--err-bg);color:var(--err-fg);border-radius:8px;padding:10px 12px;margin:16px 0 0}
.meta{margin:24px 0 0;font-size:.8125rem;color:var(--muted)}
code{font:.8125rem ui-monospace,SFMono-Regular,Menlo,monospace}
)css";

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string html_page(std::string_view title, std::string_view body_html) {
  std::string out;
  out.reserve(kStyle.size() + body_html.size() + 256);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n";
  out += "<meta name=\"robots\" content=\"noindex\">\n<title>";
  out += html_escape(title);
  out += "</title>\n<style>";
  out += kStyle;
  out += "</style></head>\n<body><main>\n";
  out += body_html;
  out += "</main></body></html>\n";
  return out;
}

}  // namespace airgate::http::rules
