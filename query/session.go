package query

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// variableSet classifies SET, RESET and their variants.
func (w *walker) variableSet(n *pg_query.VariableSetStmt) {
	st := w.st
	name := strings.ToLower(n.Name)
	switch n.Kind {
	case pg_query.VariableSetKind_VAR_SET_VALUE:
		st.Kind = KindSet
		value, ok := flattenSetArgs(name, n.Args)
		if !ok {
			w.effect(Effect{Kind: EffectUnknown, Name: name, Local: n.IsLocal})
			return
		}
		w.setting(name, value, n.IsLocal)
	case pg_query.VariableSetKind_VAR_SET_DEFAULT:
		st.Kind = KindSet
		w.resetting(name, n.IsLocal)
	case pg_query.VariableSetKind_VAR_SET_MULTI:
		st.Kind = KindSet
		w.setMulti(n)
	case pg_query.VariableSetKind_VAR_RESET:
		st.Kind = KindReset
		w.resetting(name, false)
	case pg_query.VariableSetKind_VAR_RESET_ALL:
		st.Kind = KindReset
		w.effect(Effect{Kind: EffectResetAll})
	default:
		// SET … FROM CURRENT, which only function definitions use.
		st.Kind = KindSet
		w.effect(Effect{Kind: EffectUnknown, Name: name, Local: n.IsLocal})
	}
}

// setMulti classifies SET TRANSACTION, SET SESSION CHARACTERISTICS AS
// TRANSACTION and SET TRANSACTION SNAPSHOT as the settings they change.
func (w *walker) setMulti(n *pg_query.VariableSetStmt) {
	switch n.Name {
	case "TRANSACTION", "SESSION CHARACTERISTICS":
		session := n.Name == "SESSION CHARACTERISTICS"
		for _, a := range n.Args {
			d := a.GetDefElem()
			if d == nil {
				continue
			}
			value, ok := transactionModeValue(d)
			name := d.Defname
			if session {
				name = "default_" + name
			}
			if !ok {
				w.effect(Effect{Kind: EffectUnknown, Name: name, Local: !session})
				continue
			}
			w.effect(Effect{Kind: EffectSet, Name: name, Value: value, Local: !session})
		}
	case "TRANSACTION SNAPSHOT":
		value := ""
		if len(n.Args) == 1 {
			value, _ = constText(n.Args[0])
		}
		w.effect(Effect{Kind: EffectSet, Name: "transaction_snapshot", Value: value, Local: true})
	default:
		w.effect(Effect{Kind: EffectUnknown, Name: strings.ToLower(n.Name), Local: n.IsLocal})
	}
}

// transactionModeValue renders a transaction mode as its setting's value.
func transactionModeValue(d *pg_query.DefElem) (string, bool) {
	switch d.Defname {
	case "transaction_read_only", "transaction_deferrable":
		if defBool(d.Arg) {
			return "on", true
		}
		return "off", true
	}
	return constText(d.Arg)
}

// setting records SET name = value (or its set_config form).
func (w *walker) setting(name, value string, local bool) {
	switch name {
	case "role":
		if strings.EqualFold(value, "none") {
			w.effect(Effect{Kind: EffectResetRole, Name: name, Local: local})
			return
		}
		w.effect(Effect{Kind: EffectSetRole, Name: name, Value: value, Local: local})
	case "session_authorization":
		w.effect(Effect{Kind: EffectSetSessionAuthorization, Name: name, Value: value, Local: local})
	default:
		w.effect(Effect{Kind: EffectSet, Name: name, Value: value, Local: local})
	}
}

// resetting records RESET name or SET name TO DEFAULT.
func (w *walker) resetting(name string, local bool) {
	switch name {
	case "role":
		w.effect(Effect{Kind: EffectResetRole, Name: name, Local: local})
	case "session_authorization":
		w.effect(Effect{Kind: EffectResetSessionAuthorization, Name: name, Local: local})
	default:
		w.effect(Effect{Kind: EffectReset, Name: name, Local: local})
	}
}

// setConfig records set_config(name, value, is_local). Only literal
// arguments describe the change; anything else is EffectUnknown.
func (w *walker) setConfig(args []*pg_query.Node) {
	w.b.valueSensitive = true
	if len(args) != 3 {
		w.effect(Effect{Kind: EffectUnknown})
		return
	}
	name, ok := constString(args[0])
	if !ok {
		w.effect(Effect{Kind: EffectUnknown})
		return
	}
	name = strings.ToLower(name)
	value, okValue := constString(args[1])
	local, okLocal := constBool(args[2])
	if !okValue || !okLocal {
		w.effect(Effect{Kind: EffectUnknown, Name: name, Local: okLocal && local})
		return
	}
	w.setting(name, value, local)
}

// discard classifies DISCARD.
func (w *walker) discard(n *pg_query.DiscardStmt) {
	switch n.Target {
	case pg_query.DiscardMode_DISCARD_ALL:
		w.effect(Effect{Kind: EffectDiscardAll})
	case pg_query.DiscardMode_DISCARD_PLANS:
		w.effect(Effect{Kind: EffectDiscardPlans})
	case pg_query.DiscardMode_DISCARD_SEQUENCES:
		w.effect(Effect{Kind: EffectDiscardSequences})
	case pg_query.DiscardMode_DISCARD_TEMP:
		w.effect(Effect{Kind: EffectDiscardTemp})
	default:
		w.effect(Effect{Kind: EffectUnknown})
	}
}

// listQuoteSettings are the core settings marked GUC_LIST_QUOTE, whose list
// elements SET quotes as identifiers.
var listQuoteSettings = map[string]bool{
	"search_path":               true,
	"temp_tablespaces":          true,
	"session_preload_libraries": true,
	"shared_preload_libraries":  true,
	"local_preload_libraries":   true,
}

// flattenSetArgs renders SET's value list as flatten_set_variable_args
// does. It fails for values that are not plain constants (SET TIME ZONE
// INTERVAL '…' HOUR TO MINUTE).
func flattenSetArgs(name string, args []*pg_query.Node) (string, bool) {
	if len(args) == 1 {
		if c := args[0].GetAConst(); c != nil && !listQuoteSettings[name] {
			if s, ok := c.GetVal().(*pg_query.A_Const_Sval); ok && !c.Isnull {
				return s.Sval.GetSval(), true
			}
		}
	}
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		c := a.GetAConst()
		if c == nil || c.Isnull {
			return "", false
		}
		switch v := c.GetVal().(type) {
		case *pg_query.A_Const_Sval:
			if listQuoteSettings[name] {
				b.WriteString(quoteIdent(v.Sval.GetSval()))
			} else {
				b.WriteString(v.Sval.GetSval())
			}
		case *pg_query.A_Const_Ival:
			b.WriteString(strconv.Itoa(int(v.Ival.GetIval())))
		case *pg_query.A_Const_Fval:
			b.WriteString(v.Fval.GetFval())
		default:
			return "", false
		}
	}
	return b.String(), true
}

// constString returns the value of a string constant.
func constString(n *pg_query.Node) (string, bool) {
	c := n.GetAConst()
	if c == nil || c.Isnull {
		return "", false
	}
	s, ok := c.GetVal().(*pg_query.A_Const_Sval)
	if !ok {
		return "", false
	}
	return s.Sval.GetSval(), true
}

// constText returns a string, integer or numeric constant as text.
func constText(n *pg_query.Node) (string, bool) {
	c := n.GetAConst()
	if c == nil || c.Isnull {
		return "", false
	}
	switch v := c.GetVal().(type) {
	case *pg_query.A_Const_Sval:
		return v.Sval.GetSval(), true
	case *pg_query.A_Const_Ival:
		return strconv.Itoa(int(v.Ival.GetIval())), true
	case *pg_query.A_Const_Fval:
		return v.Fval.GetFval(), true
	}
	return "", false
}

// constBool returns a boolean constant (true, false, or a string PostgreSQL
// reads as a boolean).
func constBool(n *pg_query.Node) (bool, bool) {
	c := n.GetAConst()
	if c == nil || c.Isnull {
		return false, false
	}
	switch v := c.GetVal().(type) {
	case *pg_query.A_Const_Boolval:
		return v.Boolval.GetBoolval(), true
	case *pg_query.A_Const_Sval:
		switch strings.ToLower(strings.TrimSpace(v.Sval.GetSval())) {
		case "t", "true", "y", "yes", "on", "1":
			return true, true
		case "f", "false", "n", "no", "off", "0":
			return false, true
		}
	}
	return false, false
}
