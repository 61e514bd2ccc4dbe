-- A marketing spend spreadsheet saved as CSV (raw export `spend_sheet`:
-- Month "Feb 2024", Channel "Paid Search", Spend "$12,345.67") -> the
-- contract's `marketing_spend`. See README.md.
SELECT
    CAST(try_strptime('1 ' || trim("Month"), '%d %b %Y') AS DATE) AS month,
    nullif(lower(regexp_replace(trim("Channel"), '\s+', '_', 'g')), '') AS channel,
    -- Thousands separators and currency signs dropped; "(1,234.00)" is an
    -- accountant's negative and stays negative (and is refused).
    TRY_CAST(regexp_replace("Spend", '[^0-9.]', '', 'g') AS DECIMAL(18, 2))
        * CASE WHEN "Spend" LIKE '%(%' OR trim("Spend") LIKE '-%' THEN -1 ELSE 1 END AS amount,
    upper(nullif(trim("Currency"), '')) AS currency,
    _row
FROM raw.spend_sheet
-- Blank rows and a totals row at the bottom of the sheet.
WHERE nullif(trim("Month"), '') IS NOT NULL AND lower(trim("Month")) NOT LIKE 'total%'
