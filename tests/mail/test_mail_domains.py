"""Registered domains and From-like addresses, read offline and as a mail client would show them."""

from __future__ import annotations

import socket

import pytest

from bluebench.mail.domains import registered_domain, split_address


def test_registered_domain_uses_the_bundled_suffix_list_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_a: object, **_k: object) -> None:
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    registered_domain.cache_clear()
    assert registered_domain("login.paypal.com.evil.co.uk") == "evil.co.uk"
    assert registered_domain("a.b.example.com.br") == "example.com.br"
    assert registered_domain("192.0.2.7") == "192.0.2.7"


def test_split_address_reads_the_broken_forms_phish_use() -> None:
    assert split_address("Microsoft account team ,_<no-reply@x.example>") == (
        "Microsoft account team ,_",
        "no-reply@x.example",
    )
    assert split_address('"A" <>69<Info@h.example>')[1] == "Info@h.example"
    assert split_address("bob@example.org (Bob)") == ("Bob", "bob@example.org")
    assert split_address("nobody") == ("nobody", "")
