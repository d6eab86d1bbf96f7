"""The payment page as HTML: small, mobile-first, no third-party request.

Its style and script are inline and fixed, so the CSP names them by hash (no `unsafe-inline`,
no nonce to make per request). Without JavaScript the page refreshes itself (`<noscript>`
meta refresh) and the copy buttons stay hidden; with it, it polls the status JSON every few
seconds and reloads when the order changed, and counts down to the expiry.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta, timezone
from html import escape
from typing import Final
from urllib.parse import quote, urlencode

from casso_payments.aws.dynamo import parse_timestamp
from casso_payments.pages import qr
from casso_payments.pages.texts import TEXTS, bank_name, vnd
from casso_payments.pages.view import (
    FINAL_STATES,
    STATE_CANCELLED,
    STATE_EXPIRED,
    STATE_PAID,
    STATE_PARTIAL,
    PageView,
    key_of,
)

POLL_SECONDS: Final = 4  # the script's status poll
REFRESH_SECONDS: Final = 10  # the page's own refresh without JavaScript
VIETNAM: Final = timezone(timedelta(hours=7))

STYLE: Final = (
    "*{box-sizing:border-box}"
    "body{margin:0;font:16px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "background:#f4f5f7;color:#111}"
    "main{max-width:28rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh}"
    "header{display:flex;justify-content:space-between;align-items:baseline;gap:.5rem}"
    "h1{font-size:1.2rem;margin:.2rem 0}h1 span{white-space:nowrap}"
    ".state{display:inline-block;padding:.2rem .6rem;border-radius:1rem;font-weight:600;"
    "background:#fff4d6;color:#7a5200}"
    ".s-paid{background:#dff5e3;color:#11652a}"
    ".s-expired,.s-cancelled{background:#eee;color:#555}"
    ".s-partially_paid{background:#ffe7d1;color:#8a3a00}"
    ".note{font-size:1.05rem}"
    "figure{margin:1rem auto;text-align:center;max-width:18rem}"
    "svg.qr{width:100%;height:auto;display:block;border:1px solid #ddd}"
    "figcaption{font-size:.9rem;color:#444;margin-top:.3rem}"
    "dl{margin:.5rem 0}.row{padding:.45rem 0;border-bottom:1px solid #eee}"
    "dt{font-size:.8rem;color:#555}"
    "dd{margin:0;display:flex;justify-content:space-between;align-items:center;gap:.5rem}"
    ".v{font-weight:600;word-break:break-all}.big{font-size:1.25rem}"
    "button{font:inherit;font-size:.85rem;padding:.25rem .6rem;border:1px solid #888;"
    "border-radius:.3rem;background:#fff;cursor:pointer}"
    ".small{font-size:.85rem;color:#555}"
)

SCRIPT: Final = (
    "(function(){var m=document.getElementById('page');if(!m)return;var d=m.dataset;"
    "document.querySelectorAll('button.copy').forEach(function(b){b.hidden=false;"
    "b.addEventListener('click',function(){var t=b.getAttribute('data-copy'),o=b.textContent;"
    "if(!navigator.clipboard)return;navigator.clipboard.writeText(t).then(function(){"
    "b.textContent=d.copied;setTimeout(function(){b.textContent=o},1500)},function(){})})});"
    "function poll(){fetch(d.status,{cache:'no-store'}).then(function(r){"
    "return r.ok?r.json():null}).then(function(j){if(j&&j.key!==d.key)location.reload()})"
    ".catch(function(){})}"
    "var c=document.getElementById('countdown'),end=Number(d.expires||0);"
    "function p(n){return(n<10?'0':'')+n}"
    "function tick(){var s=Math.max(0,Math.floor((end-Date.now())/1000));"
    "c.textContent=(s>=3600?Math.floor(s/3600)+':':'')+p(Math.floor(s%3600/60))+':'+p(s%60);"
    "if(s===0){clearInterval(t);poll()}}"
    "if(c&&end){var t=setInterval(tick,1000);tick()}"
    "if(d.final!=='1')setInterval(poll," + str(POLL_SECONDS * 1000) + ")})();"
)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# The page's policy: nothing but this origin, its one style and its one script.
CSP: Final = (
    f"default-src 'self'; script-src 'self' {_sha256(SCRIPT)}; "
    f"style-src 'self' {_sha256(STYLE)}; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def _row(label: str, shown: str, copied: str, copy: str, big: bool = False) -> str:
    value = f'<span class="v{" big" if big else ""}">{escape(shown)}</span>'
    button = (
        f'<button type="button" class="copy" data-copy="{escape(copied)}" hidden>'
        f"{escape(copy)}</button>"
    )
    return f"<div class=row><dt>{escape(label)}</dt><dd>{value}{button}</dd></div>"


def _epoch_ms(value: str | None) -> str:
    return str(int(parse_timestamp(value).timestamp() * 1000)) if value else ""


def page(view: PageView, token: str, lang: str) -> str:
    """The whole page for `view`, in `lang` (vi or en); `token` is the link's own."""
    t = TEXTS[lang]
    code = view.order_code
    final = view.state in FINAL_STATES
    other = "en" if lang == "vi" else "vi"
    switch = "?" + urlencode({"t": token, **({"lang": other} if other != "vi" else {})})
    status_url = f"{quote(code, safe='')}/status?" + urlencode({"t": token})
    parts = [
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{escape(t['title'].format(code=code))}</title>",
        ""
        if final
        else f'<noscript><meta http-equiv="refresh" content="{REFRESH_SECONDS}"></noscript>',
        f"<style>{STYLE}</style></head><body>",
        f'<main id="page" data-state="{view.state}" data-key="{escape(key_of(view))}" '
        f'data-status="{escape(status_url)}" data-expires="{_epoch_ms(view.expires_at)}" '
        f'data-final="{int(final)}" data-copied="{escape(t["copied"])}">',
        f"<header><h1>{escape(t['heading'])} <span>{escape(code)}</span></h1>",
        f'<a href="{escape(switch)}" hreflang="{other}" lang="{other}">'
        f"{escape(t['switch'])}</a></header>",
        f'<p><span id="state" class="state s-{view.state}">{escape(t[view.state])}</span></p>',
    ]
    notes = {
        STATE_PAID: "paid_note",
        STATE_EXPIRED: "expired_note",
        STATE_CANCELLED: "cancelled_note",
    }
    if view.state in notes:
        parts.append(f'<p class="note">{escape(t[notes[view.state]])}</p>')
    if view.state in (STATE_PARTIAL, STATE_PAID):
        parts.append("<dl>")
        for label, amount in (("amount_total", view.amount), ("amount_paid", view.amount_paid)):
            parts.append(f"<div class=row><dt>{t[label]}</dt><dd>{vnd(amount)}</dd></div>")
        parts.append("</dl>")
    if not final:
        parts.extend(_how_to_pay(view, t))
    if view.expires_at and not final:
        ends = escape(view.expires_at)
        parts.append(
            f'<p>{escape(t["expires_in"])} <strong id="countdown"></strong> '
            f'<span class="small">({escape(t["expires_at"])}: <time datetime="{ends}">'
            f"{escape(_local_time(view.expires_at))}</time>)</span></p>"
        )
    if not final:
        parts.append(f'<p class="small">{escape(t["live"])}</p>')
    parts.append(f"</main><script>{SCRIPT}</script></body></html>")
    return "".join(parts)


def _how_to_pay(view: PageView, t: dict[str, str]) -> list[str]:
    if not view.account_number:
        return [f"<p>{escape(t['no_payee'])}</p>"]
    parts = []
    if view.vietqr:
        parts.append(f"<figure>{qr.svg(view.vietqr)}<figcaption>{escape(t['scan'])}</figcaption>")
        parts.append("</figure>")
    parts.append(f"<p>{escape(t['or_transfer'])}</p><dl>")
    copy = t["copy"]
    bank = bank_name(view.bank_bin)
    parts.append(_row(t["bank"], bank, bank, copy))
    parts.append(_row(t["account_number"], view.account_number, view.account_number, copy))
    if view.account_name:
        parts.append(_row(t["account_name"], view.account_name, view.account_name, copy))
    due = view.amount_remaining
    parts.append(_row(t["amount_due"], vnd(due), str(due), copy, big=True))
    content = view.transfer_content
    parts.append(_row(t["content"], content, content, copy, big=True))
    parts.append(f'</dl><p class="small">{escape(t["content_note"])}</p>')
    return parts


def _local_time(value: str) -> str:
    """The expiry in Vietnam's time (UTC+7, no daylight saving), as the buyer reads it."""
    local = parse_timestamp(value).astimezone(VIETNAM)
    return local.strftime("%H:%M %d/%m/%Y") + " (GMT+7)"


def not_found(lang: str) -> str:
    t = TEXTS[lang]
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(t['not_found_title'])}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{escape(t['not_found_title'])}</h1><p>{escape(t['not_found'])}</p>"
        "</main></body></html>"
    )
