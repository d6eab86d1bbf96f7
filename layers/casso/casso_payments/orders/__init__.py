"""Orders: the business's own table, which the processor settles from bank transfers.

codes              order codes: found in a description, canonical form
model              `Order` and its statuses as plain values; a new order checked
repository         `Orders`, the table's one owner: every key, expression, conditional
                   write and read-back (payments, refunds, expiry, late payments)
payment_links      the buyer's page for an order: its path and unguessable token
payment_requests   an order's VietQR, and the check that its code can be found again
vietqr             the NAPAS VietQR string (EMVCo), made and read
"""
