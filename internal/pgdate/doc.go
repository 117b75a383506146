// Package pgdate is the one spelling of a PostgreSQL date that pgwarp
// treats as exact: YYYY-MM-DD, years 1 to 9999, a day that exists. That is
// the form PostgreSQL reads as year, month and day whatever the DateStyle,
// and prints with DateStyle ISO. The query package canonicalises date key
// values to it, and the cache compares a write's dates with the ranges of
// its entries through it; both must read it alike.
package pgdate
