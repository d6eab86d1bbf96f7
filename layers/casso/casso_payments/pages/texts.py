"""The payment page's words, Vietnamese first (the buyer's language) and English, and the
names of the banks a payee may be at (by NAPAS BIN; an unknown BIN is shown as a number)."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("vi", "en")
DEFAULT_LANGUAGE: Final = "vi"

TEXTS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "title": "Thanh toán đơn hàng {code}",
        "heading": "Thanh toán đơn hàng",
        "pending": "Chờ thanh toán",
        "partially_paid": "Đã nhận một phần",
        "paid": "Đã thanh toán",
        "expired": "Đã hết hạn",
        "cancelled": "Đã huỷ",
        "paid_note": "Cảm ơn bạn! Đơn hàng đã được thanh toán đủ.",
        "expired_note": "Đơn hàng đã hết hạn thanh toán. Vui lòng không chuyển khoản.",
        "cancelled_note": "Đơn hàng đã bị huỷ. Vui lòng không chuyển khoản.",
        "scan": "Quét mã QR bằng ứng dụng ngân hàng",
        "or_transfer": "Hoặc chuyển khoản theo thông tin:",
        "bank": "Ngân hàng",
        "account_number": "Số tài khoản",
        "account_name": "Chủ tài khoản",
        "amount": "Số tiền",
        "amount_due": "Số tiền cần chuyển",
        "amount_total": "Tổng đơn hàng",
        "amount_paid": "Đã nhận",
        "content": "Nội dung chuyển khoản",
        "content_note": "Ghi đúng nội dung để đơn hàng được xác nhận tự động.",
        "expires_in": "Hết hạn sau",
        "expires_at": "Hạn thanh toán",
        "copy": "Sao chép",
        "copied": "Đã chép",
        "live": "Trang tự cập nhật khi nhận được tiền.",
        "no_payee": "Chưa có tài khoản nhận tiền cho đơn hàng này.",
        "switch": "English",
        "not_found_title": "Không tìm thấy",
        "not_found": "Liên kết thanh toán không đúng hoặc đơn hàng không tồn tại.",
    },
    "en": {
        "title": "Pay order {code}",
        "heading": "Pay order",
        "pending": "Awaiting payment",
        "partially_paid": "Partly paid",
        "paid": "Paid",
        "expired": "Expired",
        "cancelled": "Cancelled",
        "paid_note": "Thank you! The order is paid in full.",
        "expired_note": "This order's time to pay is over. Please do not transfer.",
        "cancelled_note": "This order was cancelled. Please do not transfer.",
        "scan": "Scan the QR code with your banking app",
        "or_transfer": "Or transfer with these details:",
        "bank": "Bank",
        "account_number": "Account number",
        "account_name": "Account name",
        "amount": "Amount",
        "amount_due": "Amount to transfer",
        "amount_total": "Order total",
        "amount_paid": "Received",
        "content": "Transfer content",
        "content_note": "Type it exactly so the order is confirmed automatically.",
        "expires_in": "Expires in",
        "expires_at": "Pay by",
        "copy": "Copy",
        "copied": "Copied",
        "live": "This page updates itself when the money arrives.",
        "no_payee": "No account to pay into is set up for this order.",
        "switch": "Tiếng Việt",
        "not_found_title": "Not found",
        "not_found": "The payment link is wrong or the order does not exist.",
    },
}

# NAPAS BIN -> the name buyers know the bank by.
BANKS: Final[dict[str, str]] = {
    "970436": "Vietcombank",
    "970415": "VietinBank",
    "970418": "BIDV",
    "970405": "Agribank",
    "970422": "MB Bank",
    "970407": "Techcombank",
    "970416": "ACB",
    "970432": "VPBank",
    "970423": "TPBank",
    "970403": "Sacombank",
    "970437": "HDBank",
    "970441": "VIB",
    "970443": "SHB",
    "970448": "OCB",
    "970426": "MSB",
    "970454": "Viet Capital Bank",
    "970431": "Eximbank",
    "970429": "SCB",
    "970440": "SeABank",
    "970449": "LPBank",
}


def language(requested: str | None) -> str:
    """The page's language: `?lang=en` or Vietnamese."""
    value = (requested or "").strip().lower()
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def bank_name(bank_bin: str) -> str:
    return BANKS.get(bank_bin, bank_bin)


def vnd(amount: int) -> str:
    """An amount as Vietnamese write it: 200.500 ₫."""
    return f"{amount:,}".replace(",", ".") + " ₫"
