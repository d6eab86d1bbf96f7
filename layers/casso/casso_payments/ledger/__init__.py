"""The ledger table: one permanent item per Casso transaction id, and what lives beside it.

entries      the item shapes as plain values (LedgerEntry, Binding, QuarantinedDelivery),
             statuses and sources; no I/O
versions     a transaction's versions as plain values: content, source rank, the
             `version` item (`Version`); no I/O
repository   `Ledger`, the table's one owner: every key, expression, conditional write
             and read-back
"""
