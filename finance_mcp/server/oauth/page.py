"""The sign-in page: plain HTML, no script, labelled fields, errors announced to screen readers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from html import escape

SCOPE_LABELS = {
    "finance:read": "See accounts, transactions and reports",
    "finance:write": "Record and change transactions and accounts",
    "finance:admin": "Delete accounts and do other destructive operations",
}

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1d21;line-height:1.5}
main{max-width:30rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:.5rem;
box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:1.5rem;margin-top:0}
label{display:block;font-weight:600;margin-top:1rem}
input[type=email],input[type=text],input[type=password]{display:block;width:100%;box-sizing:border-box;
padding:.5rem;font-size:1rem;border:1px solid #5c6370;border-radius:.25rem}
input:focus,button:focus{outline:3px solid #1a56db;outline-offset:2px}
.hint{margin:.25rem 0 0;font-size:.9rem;color:#454b55}
fieldset{margin-top:1.25rem;border:1px solid #5c6370;border-radius:.25rem}
fieldset label{display:inline;font-weight:400;margin:0 0 0 .25rem}
fieldset div{margin:.35rem 0}
.error{background:#fdecea;border:2px solid #a4161a;color:#6b0f12;padding:.75rem;border-radius:.25rem}
.actions{margin-top:1.5rem;display:flex;gap:1rem}
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.25rem;border:1px solid #1a56db;cursor:pointer}
button.primary{background:#1a56db;color:#fff}
button.secondary{background:#fff;color:#1a56db}
code{word-break:break-all}
"""


@dataclass(frozen=True)
class SignInForm:
    """What the page shows: the request it answers and what the person typed last time (never secrets)."""

    request: str
    csrf: str
    client_name: str
    redirect_host: str
    offered_scopes: list[str]
    checked_scopes: list[str]
    tenant_email: str = ""
    username: str = ""
    error: str | None = None
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))


def _scope_boxes(form: SignInForm) -> str:
    boxes: list[str] = []
    for scope in form.offered_scopes:
        element_id = "scope-" + scope.split(":")[1]
        checked = " checked" if scope in form.checked_scopes else ""
        boxes.append(
            f'<div><input type="checkbox" id="{element_id}" name="scope" value="{escape(scope)}"{checked}>'
            f'<label for="{element_id}">{escape(SCOPE_LABELS.get(scope, scope))} ({escape(scope)})</label></div>'
        )
    return "\n".join(boxes)


def render_sign_in(form: SignInForm) -> str:
    error = ""
    described = ""
    if form.error:
        error = f'<div class="error" role="alert" id="error">{escape(form.error)}</div>'
        described = ' aria-describedby="error"'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to Finance</title>
<style nonce="{form.nonce}">{STYLE}</style>
</head>
<body>
<main>
<h1>Sign in to Finance</h1>
<p><strong>{escape(form.client_name)}</strong> (the name this application gave itself) asks to use your
household's finances. After you sign in, you go back to <strong>{escape(form.redirect_host)}</strong>.
Only continue if you started this from your assistant.</p>
{error}
<form method="post" action="/oauth/login"{described}>
<input type="hidden" name="request" value="{escape(form.request)}">
<input type="hidden" name="csrf" value="{escape(form.csrf)}">
<label for="tenant_email">Household email</label>
<input id="tenant_email" name="tenant_email" type="email" autocomplete="email" required
 aria-describedby="tenant_email_hint" value="{escape(form.tenant_email)}">
<p class="hint" id="tenant_email_hint">The email your household's MCP_Auth account was created with.</p>
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required autocapitalize="none"
 aria-describedby="username_hint" value="{escape(form.username)}">
<p class="hint" id="username_hint">A household owner's username is their email.</p>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="totp_code">One-time code (only if your account uses one)</label>
<input id="totp_code" name="totp_code" type="text" inputmode="numeric" autocomplete="one-time-code"
 pattern="[0-9]{{6}}" maxlength="6" aria-describedby="totp_hint">
<p class="hint" id="totp_hint">The 6 digits from your authenticator app, with your usual username.</p>
<fieldset>
<legend>Allow this application to</legend>
{_scope_boxes(form)}
<p class="hint">It never gets more than your role allows.</p>
</fieldset>
<div class="actions">
<button type="submit" class="primary" name="action" value="allow">Sign in and allow</button>
<button type="submit" class="secondary" name="action" value="deny" formnovalidate>Cancel</button>
</div>
</form>
</main>
</body>
</html>
"""


def render_problem(title: str, message: str, nonce: str, *, details: str | None = None) -> str:
    """A page with no form: an expired link, a broken request. `details` (what the request said was wrong,
    possibly attacker-chosen text) is escaped like everything else and shown apart from our own words."""
    shown = "" if not details else f'<p class="hint">Details: <code>{escape(details[:500])}</code></p>'
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style nonce="{nonce}">{STYLE}</style></head>
<body><main><h1>{escape(title)}</h1><p role="alert">{escape(message)}</p>{shown}</main></body>
</html>
"""


def security_headers(nonce: str, *, form_action: str = "'self'") -> dict[str, str]:
    """No script, no framing, styles only with this page's nonce, no referrer, never cached."""
    policy = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action {form_action}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
