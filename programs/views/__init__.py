"""Program pages, one module per area (board, governance, insight); urls in
programs/urls_<area>.py."""
