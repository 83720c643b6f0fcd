"""Writes the synthetic phishing messages of this folder (run once; the output is committed).

Every message is invented for the tests: the brands are real names because phishing
imitates them, every domain, address and IP is under example/test ranges or made up.
"""

from __future__ import annotations

import base64
from pathlib import Path

HERE = Path(__file__).resolve().parent / "synthetic-phishing"

CASES = [
    # (from, subject, html body or text body, extra headers, attachment (name, ctype, bytes) or None)
    (
        '"PayPal Service" <service@paypa1-secure.example>',
        "Your account has been limited",
        "<p>Dear customer,</p><p>We noticed unusual activity. Your account will be suspended within 24 hours "
        'unless you verify your identity.</p><p><a href="http://192.0.2.10/paypal/login">https://www.paypal.com/signin</a></p>',
        {"Reply-To": "support@collect-data.example"},
        None,
    ),
    (
        '"Microsoft 365" <no-reply@m365-notify.example>',
        "Action required: password expires today",
        "<p>Your Office365 password expires today. Keep your current password:</p>"
        '<form action="http://m365-keep.example/p"><input type="password" name="pw"></form>'
        '<p style="display:none">newsletter weather football recipe</p>',
        {
            "Authentication-Results": "mx.example.net; spf=fail smtp.mailfrom=m365-notify.example; dkim=none; dmarc=fail"
        },
        None,
    ),
    (
        '"DHL Express" <tracking@parcel-dhl.example>',
        "Parcel on hold: confirm delivery fee",
        "<p>Your parcel could not be delivered. Pay the 1.99 EUR fee immediately:</p>"
        '<p><a href="https://bit.ly/3xFakeDhl">Confirm delivery</a></p>',
        {},
        None,
    ),
    (
        '"Chase Online" <alerts@chase-online-verify.example>',
        "Security alert: unusual sign-in",
        "<p>We detected an unusual sign-in. Please log in to confirm your account details.</p>"
        '<p><a href="http://chase-online-verify.example/login">www.chase.com</a></p>',
        {"Return-Path": "<bounce@bulk-sender.example>"},
        None,
    ),
    (
        '"DocuSign" <dse@docs-sign.example>',
        "You have a document to review and sign",
        "<p>Please review the attached document. Sign in with your email password to open it.</p>",
        {},
        (
            "Invoice_2024.html",
            "text/html",
            b"<html><form action='http://x.example/'><input type=password></form></html>",
        ),
    ),
    (
        "accounts@payments-dept.example",
        "Overdue invoice - immediate payment",
        "Please see the attached invoice. Payment is overdue; open it immediately to avoid suspension.",
        {},
        ("invoice.pdf.exe", "application/octet-stream", b"MZ\x90\x00fake executable header"),
    ),
    (
        '"Apple ID" <appleid@icloud-support.example>',
        "Your Apple ID has been locked",
        "<p>Your Apple ID was locked for security reasons. Unlock it now:</p>"
        '<p><a href="http://xn--pple-43d.example/unlock">Unlock Apple ID</a></p>',
        {},
        None,
    ),
    (
        '"IT Helpdesk" <helpdesk@mail-quota.example>',
        "Mailbox storage is full",
        "Your mailbox storage is full and incoming messages will be deleted. Validate your account "
        "within 48 hours: http://203.0.113.55:8080/owa/validate",
        {"To": "undisclosed-recipients:;"},
        None,
    ),
    (
        '"Netflix" <info@netflix-billing.example>',
        "Update your payment information",
        "<p>We could not process your payment. Update your billing details to avoid losing access.</p>"
        '<p><a href="https://netf1ix-billing.example/update">Update payment</a></p>',
        {},
        None,
    ),
    (
        '"Wells Fargo" <secure@wf-alerts.example>',
        "Final notice: account verification",
        "<p>Final notice. Verify your credit card number and PIN to keep your account active.</p>"
        '<p><a href="https://tinyurl.com/wf-fake">https://www.wellsfargo.com/verify</a></p>',
        {"Reply-To": "collect@harvest.example"},
        None,
    ),
    (
        '"Amazon" <order-update@amaz0n-orders.example>',
        "Your order cannot be shipped",
        "<p>There is a problem with your order. Confirm your identity to release the shipment.</p>"
        '<p><a href="http://amaz0n-orders.example/confirm">Confirm now</a></p>',
        {},
        ("order.zip", "application/zip", b"PK\x03\x04fake archive"),
    ),
    (
        '"Coinbase Security" <security@coinbase-wallet-alert.example>',
        "Withdrawal request: action required",
        "<p>A withdrawal was requested. If this was not you, log in immediately to cancel it.</p>"
        '<p><a href="https://coinbase-wallet-alert.example/cancel">Cancel withdrawal</a></p>',
        {},
        None,
    ),
]


def render(i: int, case: tuple[object, ...]) -> bytes:
    frm, subject, body, extra, attachment = case
    assert isinstance(extra, dict)
    headers = {
        "Received": f"from mail{i}.sender.example (unknown [198.51.100.{i + 1}]) by mx.example.net; "
        f"Tue, {3 + i} Sep 2024 10:{i:02d}:00 +0000",
        "From": frm,
        "To": "victim@example.org",
        "Subject": subject,
        "Date": f"Tue, {3 + i} Sep 2024 10:{i:02d}:00 +0000",
        "Message-ID": f"<{i}.fake@bulk.example>",
        "MIME-Version": "1.0",
    }
    headers.update(extra)
    is_html = str(body).lstrip().startswith("<")
    ctype = "text/html" if is_html else "text/plain"
    lines = [f"{k}: {v}" for k, v in headers.items()]
    if attachment is None:
        lines += [f'Content-Type: {ctype}; charset="utf-8"', "", str(body), ""]
    else:
        name, actype, data = attachment  # type: ignore[misc]
        b = "==b" + str(i)
        lines += [
            f'Content-Type: multipart/mixed; boundary="{b}"',
            "",
            f"--{b}",
            f'Content-Type: {ctype}; charset="utf-8"',
            "",
            str(body),
            f"--{b}",
            f'Content-Type: {actype}; name="{name}"',
            f'Content-Disposition: attachment; filename="{name}"',
            "Content-Transfer-Encoding: base64",
            "",
            base64.b64encode(data).decode(),
            f"--{b}--",
            "",
        ]
    return "\n".join(lines).encode()


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for i, case in enumerate(CASES, 1):
        (HERE / f"phish-{i:02d}.eml").write_bytes(render(i, case))


if __name__ == "__main__":
    main()
