"""The usage dashboard: a static page (no build step) that reads ``GET /v1/billing/usage`` with the
visitor's API key. The local runner serves it at ``/dashboard/``; ``UsageDashboard`` deploys it to S3
behind CloudFront, which also routes ``/v1/billing/*`` to the API, so the page calls its own origin."""

from pathlib import Path

SITE = Path(__file__).parent
FILES = ("index.html", "dashboard.js", "dashboard.css")
# The page runs only its own script and reaches only its own origin (the usage endpoint behind it).
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
                    "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}
