"""The buyer's payment page for one order (`/pay/{code}?t=...`) and its status JSON:

view      `PageView`: what the page shows of an order (amount, paid, remaining, status,
          expiry, the VietQR for what is still due), and the status JSON
texts     the page's words in Vietnamese and English, and bank names by NAPAS BIN
qr        the VietQR drawn as an inline SVG (light background, quiet zone)
html      the page itself: HTML, its inline style and script, their CSP hashes
serve     a request to an answer: token check first (no table read), one GetItem
"""
