"""The ledger table: one permanent item per Casso transaction id, and what lives beside it.

entries      the item shapes as plain values (LedgerEntry, Binding, QuarantinedDelivery),
             statuses and sources; no I/O
repository   `Ledger`, the table's one owner: every key, expression, conditional write
             and read-back
"""
