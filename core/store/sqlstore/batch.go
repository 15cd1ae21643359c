package sqlstore

import (
	"strconv"
	"strings"
)

// col is one column of rows passed to a set-based statement: the values
// as a typed slice (bound as one array on PostgreSQL) and one by one (bound
// as a VALUES list on SQLite).
type col struct {
	pgType string // element type of the PostgreSQL array
	arr    any    // []int64, []string or []bool
	n      int
	at     func(i int) any
}

func int64Col(v []int64) col {
	return col{pgType: "bigint", arr: v, n: len(v), at: func(i int) any { return v[i] }}
}

func textCol(v []string) col {
	return col{pgType: "text", arr: v, n: len(v), at: func(i int) any { return v[i] }}
}

func boolCol(v []bool) col {
	return col{pgType: "boolean", arr: v, n: len(v), at: func(i int) any { return v[i] }}
}

// rowsTable returns a derived table named v, with columns c1, c2, ... for
// cols (all of the same length, at least one row), to join in a FROM
// clause: unnest of arrays on PostgreSQL (one statement text whatever the
// number of rows, so it stays prepared), a VALUES list on SQLite.
func (d Dialect) rowsTable(qa *args, cols ...col) string {
	var b strings.Builder
	if d.ArrayParams {
		b.WriteString("unnest(")
		for k, c := range cols {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString(qa.add(c.arr) + "::" + c.pgType + "[]")
		}
		b.WriteString(") AS v(")
		for k := range cols {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString("c" + strconv.Itoa(k+1))
		}
		b.WriteString(")")
		return b.String()
	}
	b.WriteString("(SELECT ")
	for k := range cols {
		if k > 0 {
			b.WriteString(", ")
		}
		n := strconv.Itoa(k + 1)
		b.WriteString("column" + n + " AS c" + n)
	}
	b.WriteString(" FROM (VALUES ")
	for i := range cols[0].n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for k, c := range cols {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString(qa.addNum(c.at(i)))
		}
		b.WriteString(")")
	}
	b.WriteString(")) AS v")
	return b.String()
}

// inSet returns the condition "expr is one of c's values" (c not empty):
// = ANY of one array on PostgreSQL, an IN list on SQLite.
func (d Dialect) inSet(qa *args, expr string, c col) string {
	if d.ArrayParams {
		return expr + " = ANY(" + qa.add(c.arr) + "::" + c.pgType + "[])"
	}
	ps := make([]string, c.n)
	for i := range c.n {
		ps[i] = qa.addNum(c.at(i))
	}
	return expr + " IN (" + strings.Join(ps, ", ") + ")"
}

// addNum is add with an anonymous ? placeholder, for SQLite statements
// with thousands of parameters: SQLite keeps $NNN and ?NNN placeholders
// in a list it scans linearly on every lookup (when preparing, and when
// the driver asks each parameter's name to bind it), which made a
// 1,000-row statement quadratic. A ? takes the next number, so it must
// come, in the statement text, exactly where its argument comes in the
// list: every statement here is built left to right, adding each
// argument as its placeholder is written.
func (a *args) addNum(v any) string {
	*a = append(*a, v)
	return "?"
}

// indexedBy names the index a query on a table must use (" INDEXED BY
// name" on SQLite, whose planner does not weigh partial covering indexes
// well; "" elsewhere). SQLite fails the query if the index cannot serve it,
// so a query that drifts from its index is caught by the tests.
func (d Dialect) indexedBy(name string) string {
	if d.IndexHints {
		return " INDEXED BY " + name
	}
	return ""
}
