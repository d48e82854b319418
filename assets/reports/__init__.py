"""Monthly report assets: specs (what), data (bounded reads, hashing), render (PDF/XLSX), store (files, rows)."""
