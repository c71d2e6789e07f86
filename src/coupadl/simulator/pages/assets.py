"""The static assets a page loads: the application script and stylesheet, vendor chunks.

The application script does what real Coupa's does for the downloader: header
attachments start their download from a click handler, the session timer sends an
expired page to the sign-in form, and late analytics keep the page loading after
``DOMContentLoaded``. Asset URLs carry a digest of their content, as Rails' do.
"""

from __future__ import annotations

import hashlib

APPLICATION_JS = """\
(function () {
  "use strict";
  // Header attachments are spans, not links: a click starts the download in place.
  function startDownload(url) {
    var link = document.createElement("a");
    link.href = url;
    link.setAttribute("download", "");
    link.style.display = "none";
    document.body.appendChild(link);
    link.click();
    document.body.removeChild(link);
  }
  function onActivate(event) {
    var target = event.target;
    var span = target && target.closest ?
      target.closest('span.attachment-file[role="button"]') : null;
    if (!span) { return; }
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") { return; }
    event.preventDefault();
    startDownload(span.getAttribute("data-url"));
  }
  document.addEventListener("click", onActivate);
  document.addEventListener("keydown", onActivate);

  // The session timer: an expired session sends the page to the sign-in form.
  function checkSession() {
    fetch("/sessions/expiration_check", {credentials: "same-origin",
                                         headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer && answer.expired_session_url) {
          window.location.href = answer.expired_session_url;
        }
      })
      .catch(function () {});
  }
  var meta = document.querySelector('meta[name="session-check-interval"]');
  var seconds = meta ? parseFloat(meta.getAttribute("content")) : 5;
  if (seconds > 0) { window.setInterval(checkSession, seconds * 1000); }

  // Analytics arrive after DOMContentLoaded and keep the page loading for a while.
  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("late-scripts");
    var urls = list ? JSON.parse(list.textContent) : [];
    urls.forEach(function (url) {
      var script = document.createElement("script");
      script.src = url;
      script.async = true;
      document.head.appendChild(script);
    });
  });
})();
"""

APPLICATION_CSS = """\
body { font-family: Arial, sans-serif; margin: 0; padding-bottom: 80px; }
#main_nav ul { list-style: none; margin: 0; padding: 8px; background: #1d3b5a; }
#main_nav li { display: inline-block; margin-right: 16px; }
#main_nav a { color: #fff; }
#page { padding: 16px 24px; }
.notice { background: #fff8d6; padding: 8px; }
.flash_error { background: #fde2e2; color: #8a1f11; padding: 8px; }
span.attachment-file { color: #0a66c2; cursor: pointer; text-decoration: underline; }
/* The floating toolbar covers the bottom of the window, links under it included. */
.page_buttons_right.orderHeaderShowFloatingSection, .page_buttons_right.floatingSection {
  position: fixed; left: 0; right: 0; bottom: 0; height: 64px; z-index: 1000;
  background: #fff; border-top: 1px solid #ccc; text-align: right; padding: 12px 24px;
}
[hidden] { display: none; }
"""

STUB_JS = "/* chunk */ window.__coupaChunks = (window.__coupaChunks || 0) + 1;\n"
ANALYTICS_JS = "/* analytics */ window.__coupaAnalytics = (window.__coupaAnalytics || 0) + 1;\n"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


APPLICATION_JS_PATH = f"/assets/application-{_digest(APPLICATION_JS)}.js"
APPLICATION_CSS_PATH = f"/assets/application-{_digest(APPLICATION_CSS)}.css"
VENDOR_JS = tuple(
    f"/assets/{name}-{_digest(name)}.js"
    for name in ("runtime", "vendor", "react", "react-dom", "i18n", "moment", "lodash",
                 "coupa-ui", "order_headers", "comments", "attachments", "approvals")
)  # fmt: skip
LATE_SCRIPTS = 3
INLINE_SCRIPTS = 34  # with the externals: about 50 script tags, as on a real page
