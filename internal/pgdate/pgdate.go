package pgdate

import "strconv"

// Days are dates counted as days since 1970-01-01 (proleptic Gregorian, as
// PostgreSQL's date arithmetic counts them).

// Min and Max are the first and last days with a canonical spelling.
var (
	Min = fromCivil(1, 1, 1)
	Max = fromCivil(9999, 12, 31)
)

// PostgresEpoch is 2000-01-01, from which date_send counts.
var PostgresEpoch = fromCivil(2000, 1, 1)

// Parse reads a canonical date as days since 1970-01-01. Other spellings
// that PostgreSQL accepts (' 2026-06-30', '06/30/2026', 'today') are not
// canonical.
func Parse(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s[:4]) || !digits(s[5:7]) || !digits(s[8:]) {
		return 0, false
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:7])
	d, _ := strconv.Atoi(s[8:])
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return fromCivil(y, m, d), true
}

// Format writes days since 1970-01-01 canonically, or false outside
// [Min, Max].
func Format(days int64) (string, bool) {
	if days < Min || days > Max {
		return "", false
	}
	y, m, d := toCivil(days)
	b := make([]byte, 0, 10)
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
	return string(b), true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// fromCivil and toCivil convert between proleptic Gregorian dates and days
// since 1970-01-01 (Howard Hinnant's algorithms).
func fromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func toCivil(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}
