"""The notifier's room: every order event told to the shop (a signed Standard Webhooks POST)
and, optionally, to its staff (a Telegram line), retried, logged and replayable.

    kinds       each detail-type's webhook type (`order.paid`, ...), the one table of them
    message     a notification as a value: its webhook id, body, the queue message it rides in
    signing     the signing and Telegram secrets parsed, and the signed headers
    schedule    the retry schedule: when the next attempt is due, when to give up
    url_guard   the SSRF guard: a notify URL checked when set and again when sending
    send        one HTTP POST to a checked address, no redirects, within its timeout
    telegram    the staff's Vietnamese line, and the Bot API call that sends it
    log         NotificationLog, the notifications table's owner (every attempt)
    deliver     one notification attempted: send, log, and what comes next
"""
