package query

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// cursorOptHold is CURSOR_OPT_HOLD from PostgreSQL's parsenodes.h.
const cursorOptHold = 0x0020

// parse classifies sql with PostgreSQL's parser. sc is the lexer's scan of
// sql with collect set: its time-relative string constants mark the
// statements that contain them, and its literal tokens give key predicates
// their ordinals.
func parse(sql string, sc *scan) *Info {
	if strings.IndexByte(sql, 0) >= 0 {
		// pg_query reads a C string and would stop at the zero byte;
		// PostgreSQL never receives one inside a query string.
		return &Info{Err: &ParseError{Message: "query string contains a zero byte"}, valueSensitive: true, size: infoOverhead}
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		info := &Info{Err: &ParseError{Message: err.Error()}, valueSensitive: true}
		info.size = infoOverhead + len(info.Err.Message)
		return info
	}
	info := &Info{}
	if fp, err := pg_query.FingerprintToUInt64(sql); err == nil {
		info.Fingerprint, info.FingerprintHex = fp, strconv.FormatUint(fp, 16)
	}
	for _, raw := range tree.Stmts {
		b := builder{}
		st := b.statement(raw.Stmt)
		lo := int(raw.StmtLocation)
		hi := len(sql)
		if raw.StmtLen > 0 {
			hi = lo + int(raw.StmtLen)
		}
		for _, off := range sc.timeRelative {
			if off >= lo && off < hi {
				st.TimeLiteral = true
			}
		}
		st.keys = keyPredicates(raw.Stmt, sql, sc.lits)
		if st.keys != nil {
			info.keyed = true
		}
		if b.valueSensitive {
			info.valueSensitive = true
		}
		info.Statements = append(info.Statements, st)
	}
	info.size = info.estimateSize()
	return info
}

// builder turns one raw statement into a [Statement].
type builder struct {
	// valueSensitive is set when the Statement depends on a literal value.
	valueSensitive bool
}

// statement classifies one statement node.
func (b *builder) statement(node *pg_query.Node) Statement {
	var st Statement
	w := walker{b: b, st: &st}
	readOnlyKind := false
	switch n := node.GetNode().(type) {
	case *pg_query.Node_SelectStmt:
		st.Kind = KindSelect
		readOnlyKind = true
		w.selectStmt(n.SelectStmt)
	case *pg_query.Node_InsertStmt:
		st.Kind = KindInsert
		w.insert(n.InsertStmt)
	case *pg_query.Node_UpdateStmt:
		st.Kind = KindUpdate
		w.update(n.UpdateStmt)
	case *pg_query.Node_DeleteStmt:
		st.Kind = KindDelete
		w.delete(n.DeleteStmt)
	case *pg_query.Node_MergeStmt:
		st.Kind = KindMerge
		w.merge(n.MergeStmt)
	case *pg_query.Node_CopyStmt:
		readOnlyKind = b.copy(&w, n.CopyStmt)
	case *pg_query.Node_ExplainStmt:
		readOnlyKind = b.explain(&w, n.ExplainStmt)
	case *pg_query.Node_TransactionStmt:
		st.Kind = KindTransaction
		b.transaction(&st, n.TransactionStmt)
	case *pg_query.Node_VariableSetStmt:
		b.valueSensitive = true
		w.variableSet(n.VariableSetStmt)
	case *pg_query.Node_VariableShowStmt:
		st.Kind = KindShow
		readOnlyKind = true
	case *pg_query.Node_DiscardStmt:
		st.Kind = KindDiscard
		w.discard(n.DiscardStmt)
	case *pg_query.Node_ListenStmt:
		st.Kind = KindListen
		w.effect(Effect{Kind: EffectListen, Name: n.ListenStmt.Conditionname})
	case *pg_query.Node_UnlistenStmt:
		st.Kind = KindUnlisten
		if n.UnlistenStmt.Conditionname == "" {
			w.effect(Effect{Kind: EffectUnlistenAll})
		} else {
			w.effect(Effect{Kind: EffectUnlisten, Name: n.UnlistenStmt.Conditionname})
		}
	case *pg_query.Node_NotifyStmt:
		st.Kind = KindNotify
	case *pg_query.Node_LoadStmt:
		st.Kind = KindLoad
		b.valueSensitive = true
		w.effect(Effect{Kind: EffectLoad, Value: n.LoadStmt.Filename})
	case *pg_query.Node_DeclareCursorStmt:
		st.Kind = KindDeclareCursor
		inner := b.statement(n.DeclareCursorStmt.Query)
		st.absorb(&inner)
		if n.DeclareCursorStmt.Options&cursorOptHold != 0 {
			w.effect(Effect{Kind: EffectDeclareHold, Name: n.DeclareCursorStmt.Portalname})
		}
	case *pg_query.Node_ClosePortalStmt:
		st.Kind = KindClose
		if n.ClosePortalStmt.Portalname == "" {
			w.effect(Effect{Kind: EffectCloseAll})
		} else {
			w.effect(Effect{Kind: EffectClose, Name: n.ClosePortalStmt.Portalname})
		}
	case *pg_query.Node_FetchStmt:
		st.Kind = KindFetch
	case *pg_query.Node_PrepareStmt:
		st.Kind = KindPrepare
		inner := b.statement(n.PrepareStmt.Query)
		st.Prepared = &inner
		w.effect(Effect{Kind: EffectPrepare, Name: n.PrepareStmt.Name})
	case *pg_query.Node_ExecuteStmt:
		st.Kind = KindExecute
		st.UnknownWrites = true
		w.visitList(n.ExecuteStmt.Params)
		w.effect(Effect{Kind: EffectExecute, Name: n.ExecuteStmt.Name})
	case *pg_query.Node_DeallocateStmt:
		st.Kind = KindDeallocate
		if n.DeallocateStmt.Isall || n.DeallocateStmt.Name == "" {
			w.effect(Effect{Kind: EffectDeallocateAll})
		} else {
			w.effect(Effect{Kind: EffectDeallocate, Name: n.DeallocateStmt.Name})
		}
	case *pg_query.Node_CallStmt:
		st.Kind = KindCall
		st.UnknownWrites = true
		if n.CallStmt.Funccall != nil {
			w.visit(n.CallStmt.Funccall.ProtoReflect())
		}
	case *pg_query.Node_DoStmt:
		st.Kind = KindDo
		st.UnknownWrites = true
	case *pg_query.Node_LockStmt:
		st.Kind = KindLock
	case *pg_query.Node_TruncateStmt:
		st.Kind = KindTruncate
		for _, r := range n.TruncateStmt.Relations {
			w.write(r.GetRangeVar())
		}
	case *pg_query.Node_RefreshMatViewStmt:
		st.Kind = KindRefreshMatView
		w.write(n.RefreshMatViewStmt.Relation)
	case *pg_query.Node_VacuumStmt, *pg_query.Node_ClusterStmt, *pg_query.Node_ReindexStmt,
		*pg_query.Node_CheckPointStmt:
		st.Kind = KindMaintenance
	case *pg_query.Node_AlterSystemStmt, *pg_query.Node_ConstraintsSetStmt,
		*pg_query.Node_ReturnStmt, *pg_query.Node_PlassignStmt:
		st.Kind = KindUtility
	default:
		st.Kind = KindDDL
		b.ddl(&w, node)
	}
	st.ReadOnly = readOnlyKind && !st.SelectInto && st.Locking == LockNone && !st.ModifyingCTE &&
		!w.writer && !st.UnknownWrites && len(st.Writes) == 0 && len(st.Creates) == 0 && len(st.Effects) == 0
	return st
}

// copy classifies COPY and reports whether its kind can be read-only.
func (b *builder) copy(w *walker, c *pg_query.CopyStmt) bool {
	st := w.st
	if c.IsFrom {
		st.Kind = KindCopyFrom
		w.write(c.Relation)
		w.visitNode(c.WhereClause)
		return false
	}
	st.Kind = KindCopyTo
	if c.Relation != nil {
		w.read(c.Relation)
	}
	if c.Query != nil {
		inner := b.statement(c.Query)
		st.absorb(&inner)
		return inner.ReadOnly
	}
	return true
}

// explain classifies EXPLAIN and reports whether its kind can be read-only.
// Without ANALYZE the explained statement is only planned, so it writes
// nothing and has no effects; with ANALYZE it runs.
func (b *builder) explain(w *walker, e *pg_query.ExplainStmt) bool {
	st := w.st
	st.Kind = KindExplain
	for _, o := range e.Options {
		d := o.GetDefElem()
		if d != nil && d.Defname == "analyze" {
			st.ExplainAnalyze = defBool(d.Arg)
		}
	}
	inner := b.statement(e.Query)
	if st.ExplainAnalyze {
		st.absorb(&inner)
		return inner.ReadOnly
	}
	for _, r := range inner.Reads {
		w.addRead(r)
	}
	for _, f := range inner.Functions {
		w.addFunction(f)
	}
	return true
}

// defBool reads a boolean option's argument the way defGetBoolean does; a
// missing argument means true.
func defBool(arg *pg_query.Node) bool {
	if arg == nil {
		return true
	}
	switch a := arg.GetNode().(type) {
	case *pg_query.Node_AConst:
		switch v := a.AConst.GetVal().(type) {
		case *pg_query.A_Const_Boolval:
			return v.Boolval.GetBoolval()
		case *pg_query.A_Const_Ival:
			return v.Ival.GetIval() != 0
		case *pg_query.A_Const_Sval:
			return textBool(v.Sval.GetSval())
		}
	case *pg_query.Node_String_:
		return textBool(a.String_.GetSval())
	case *pg_query.Node_Integer:
		return a.Integer.GetIval() != 0
	case *pg_query.Node_Boolean:
		return a.Boolean.GetBoolval()
	}
	return true
}

func textBool(s string) bool {
	switch strings.ToLower(s) {
	case "false", "off", "0", "f", "no", "n":
		return false
	}
	return true
}

// transaction fills st.Transaction from a transaction-control statement.
func (b *builder) transaction(st *Statement, t *pg_query.TransactionStmt) {
	tx := &st.Transaction
	switch t.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
		tx.Kind = TxBegin
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT:
		tx.Kind = TxCommit
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		tx.Kind = TxRollback
	case pg_query.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		tx.Kind = TxSavepoint
	case pg_query.TransactionStmtKind_TRANS_STMT_RELEASE:
		tx.Kind = TxRelease
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		tx.Kind = TxRollbackTo
	case pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:
		tx.Kind = TxPrepare
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:
		tx.Kind = TxCommitPrepared
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		tx.Kind = TxRollbackPrepared
	}
	tx.Chain = t.Chain
	tx.Name = t.SavepointName
	if t.Gid != "" {
		tx.Name = t.Gid
		b.valueSensitive = true
	}
	for _, o := range t.Options {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "transaction_isolation":
			tx.Isolation, _ = constText(d.Arg)
		case "transaction_read_only":
			if defBool(d.Arg) {
				tx.Access = TxAccessReadOnly
			} else {
				tx.Access = TxAccessReadWrite
			}
		case "transaction_deferrable":
			tx.Deferrable = defBool(d.Arg)
		}
	}
}

// ddl classifies a definition statement: the relations it changes or
// creates, or UnknownWrites when its effect on data cannot be named.
func (b *builder) ddl(w *walker, node *pg_query.Node) {
	st := w.st
	switch n := node.GetNode().(type) {
	case *pg_query.Node_CreateStmt:
		w.create(n.CreateStmt.Relation, n.CreateStmt.Oncommit)
	case *pg_query.Node_CreateForeignTableStmt:
		if n.CreateForeignTableStmt.BaseStmt != nil {
			w.create(n.CreateForeignTableStmt.BaseStmt.Relation, pg_query.OnCommitAction_ONCOMMIT_NOOP)
		}
	case *pg_query.Node_CreateSeqStmt:
		w.create(n.CreateSeqStmt.Sequence, pg_query.OnCommitAction_ONCOMMIT_NOOP)
	case *pg_query.Node_ViewStmt:
		w.create(n.ViewStmt.View, pg_query.OnCommitAction_ONCOMMIT_NOOP)
		if n.ViewStmt.Replace {
			w.write(n.ViewStmt.View)
		}
	case *pg_query.Node_CreateTableAsStmt:
		c := n.CreateTableAsStmt
		if c.Into != nil {
			w.create(c.Into.Rel, c.Into.OnCommit)
		}
		if c.Query != nil && (c.Into == nil || !c.Into.SkipData) {
			inner := b.statement(c.Query)
			st.absorb(&inner)
		}
	case *pg_query.Node_AlterTableStmt:
		w.write(n.AlterTableStmt.Relation)
	case *pg_query.Node_AlterSeqStmt:
		w.write(n.AlterSeqStmt.Sequence)
	case *pg_query.Node_CreatePolicyStmt:
		w.write(n.CreatePolicyStmt.Table)
	case *pg_query.Node_AlterPolicyStmt:
		w.write(n.AlterPolicyStmt.Table)
	case *pg_query.Node_RuleStmt:
		w.write(n.RuleStmt.Relation)
	case *pg_query.Node_DropStmt:
		w.drop(n.DropStmt)
	case *pg_query.Node_RenameStmt:
		r := n.RenameStmt
		switch {
		case r.Relation == nil:
			st.UnknownWrites = !noDataEffect(r.RenameType)
		case isRelationType(r.RenameType):
			w.write(r.Relation)
			w.addCreate(Relation{Schema: r.Relation.Schemaname, Name: r.Newname})
		default:
			w.write(r.Relation)
		}
	case *pg_query.Node_AlterObjectSchemaStmt:
		r := n.AlterObjectSchemaStmt
		if r.Relation != nil {
			w.write(r.Relation)
			w.addCreate(Relation{Schema: r.Newschema, Name: r.Relation.Relname})
		} else {
			st.UnknownWrites = true
		}
	case *pg_query.Node_GrantStmt:
		g := n.GrantStmt
		if g.Targtype == pg_query.GrantTargetType_ACL_TARGET_OBJECT &&
			(g.Objtype == pg_query.ObjectType_OBJECT_TABLE || g.Objtype == pg_query.ObjectType_OBJECT_SEQUENCE) {
			for _, o := range g.Objects {
				w.write(o.GetRangeVar())
			}
		} else {
			st.UnknownWrites = !noDataEffect(g.Objtype)
		}
	case *pg_query.Node_CreateSchemaStmt:
		// Objects created with the schema may hide others of the same
		// name later in a search_path.
		st.UnknownWrites = len(n.CreateSchemaStmt.SchemaElts) > 0
	case *pg_query.Node_IndexStmt, *pg_query.Node_CommentStmt, *pg_query.Node_SecLabelStmt,
		*pg_query.Node_CreateStatsStmt, *pg_query.Node_AlterStatsStmt, *pg_query.Node_CreateTrigStmt,
		*pg_query.Node_CreateEventTrigStmt, *pg_query.Node_AlterEventTrigStmt,
		*pg_query.Node_CreateRoleStmt, *pg_query.Node_DropRoleStmt, *pg_query.Node_AlterRoleSetStmt,
		*pg_query.Node_AlterDefaultPrivilegesStmt, *pg_query.Node_CreatedbStmt, *pg_query.Node_DropdbStmt,
		*pg_query.Node_AlterDatabaseStmt, *pg_query.Node_AlterDatabaseSetStmt,
		*pg_query.Node_AlterDatabaseRefreshCollStmt, *pg_query.Node_CreateTableSpaceStmt,
		*pg_query.Node_DropTableSpaceStmt, *pg_query.Node_AlterTableSpaceOptionsStmt,
		*pg_query.Node_AlterTableMoveAllStmt, *pg_query.Node_CreatePublicationStmt,
		*pg_query.Node_AlterPublicationStmt, *pg_query.Node_CreateSubscriptionStmt,
		*pg_query.Node_AlterSubscriptionStmt, *pg_query.Node_DropSubscriptionStmt,
		*pg_query.Node_CreateAmStmt, *pg_query.Node_CreateUserMappingStmt,
		*pg_query.Node_AlterUserMappingStmt, *pg_query.Node_DropUserMappingStmt,
		*pg_query.Node_CreateFdwStmt, *pg_query.Node_AlterFdwStmt,
		*pg_query.Node_CreateForeignServerStmt, *pg_query.Node_AlterForeignServerStmt:
		// No effect on the data that existing relations return.
	default:
		// Functions, operators, types, casts, extensions, role
		// memberships, ownership…: the effect on cached results is
		// unknown.
		st.UnknownWrites = true
	}
}

// isRelationType reports the object types that name a relation.
func isRelationType(t pg_query.ObjectType) bool {
	switch t {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_VIEW,
		pg_query.ObjectType_OBJECT_MATVIEW, pg_query.ObjectType_OBJECT_FOREIGN_TABLE,
		pg_query.ObjectType_OBJECT_SEQUENCE:
		return true
	}
	return false
}

// noDataEffect reports the object types whose definition changes do not
// change what queries on existing relations return.
func noDataEffect(t pg_query.ObjectType) bool {
	switch t {
	case pg_query.ObjectType_OBJECT_INDEX, pg_query.ObjectType_OBJECT_STATISTIC_EXT,
		pg_query.ObjectType_OBJECT_TRIGGER, pg_query.ObjectType_OBJECT_RULE,
		pg_query.ObjectType_OBJECT_EVENT_TRIGGER, pg_query.ObjectType_OBJECT_PUBLICATION,
		pg_query.ObjectType_OBJECT_PUBLICATION_NAMESPACE, pg_query.ObjectType_OBJECT_PUBLICATION_REL,
		pg_query.ObjectType_OBJECT_SUBSCRIPTION, pg_query.ObjectType_OBJECT_TABLESPACE,
		pg_query.ObjectType_OBJECT_DATABASE, pg_query.ObjectType_OBJECT_ROLE,
		pg_query.ObjectType_OBJECT_ACCESS_METHOD, pg_query.ObjectType_OBJECT_FDW,
		pg_query.ObjectType_OBJECT_FOREIGN_SERVER, pg_query.ObjectType_OBJECT_USER_MAPPING,
		pg_query.ObjectType_OBJECT_TABCONSTRAINT, pg_query.ObjectType_OBJECT_DOMCONSTRAINT,
		pg_query.ObjectType_OBJECT_LARGEOBJECT:
		return true
	}
	return false
}

// walker collects what a statement reads, writes and calls.
type walker struct {
	b  *builder
	st *Statement
	// scopes holds the names of the common table expressions in scope,
	// innermost last.
	scopes [][]string
	// writer is set by a call of a built-in function that writes or locks.
	writer bool
}

func (w *walker) visitNode(n *pg_query.Node) {
	if n != nil {
		w.visit(n.ProtoReflect())
	}
}

func (w *walker) visitList(list []*pg_query.Node) {
	for _, n := range list {
		w.visitNode(n)
	}
}

// visit walks a parse-tree message, handling the nodes that matter and
// descending into every other one.
func (w *walker) visit(m protoreflect.Message) {
	if !m.IsValid() {
		return
	}
	switch n := m.Interface().(type) {
	case *pg_query.RangeVar:
		w.read(n)
		return
	case *pg_query.SelectStmt:
		w.selectStmt(n)
		return
	case *pg_query.InsertStmt:
		w.insert(n)
		return
	case *pg_query.UpdateStmt:
		w.update(n)
		return
	case *pg_query.DeleteStmt:
		w.delete(n)
		return
	case *pg_query.MergeStmt:
		w.merge(n)
		return
	case *pg_query.LockingClause:
		// The locked names are aliases in scope, not relations read.
		w.lock(n.Strength)
		return
	case *pg_query.ColumnRef, *pg_query.TypeName:
		return
	case *pg_query.FuncCall:
		w.call(n)
	case *pg_query.SQLValueFunction:
		w.sqlValueFunction(n)
	case *pg_query.A_Expr:
		w.operator(n)
	case *pg_query.RangeTableSample:
		if n.Repeatable == nil {
			w.st.Sampling = true
		}
	}
	w.children(m)
}

// children visits every message field of m except the one named skip.
// Fields are visited in declaration order, which follows the C structs and
// so, mostly, the order of the text.
func (w *walker) children(m protoreflect.Message, skip ...protoreflect.Name) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Kind() != protoreflect.MessageKind || !m.Has(fd) || skipped(fd.Name(), skip) {
			continue
		}
		v := m.Get(fd)
		if fd.IsList() {
			l := v.List()
			for j := 0; j < l.Len(); j++ {
				w.visit(l.Get(j).Message())
			}
			continue
		}
		w.visit(v.Message())
	}
}

func skipped(name protoreflect.Name, skip []protoreflect.Name) bool {
	for _, s := range skip {
		if s == name {
			return true
		}
	}
	return false
}

// with brings the common table expressions of wc into scope, visiting
// their queries, and reports whether it pushed a scope for the caller to
// pop. A non-recursive WITH query sees only the ones before it; in WITH
// RECURSIVE all see all.
func (w *walker) with(wc *pg_query.WithClause) bool {
	if wc == nil {
		return false
	}
	w.scopes = append(w.scopes, nil)
	top := len(w.scopes) - 1
	if wc.Recursive {
		for _, c := range wc.Ctes {
			if cte := c.GetCommonTableExpr(); cte != nil {
				w.scopes[top] = append(w.scopes[top], cte.Ctename)
			}
		}
	}
	for _, c := range wc.Ctes {
		cte := c.GetCommonTableExpr()
		if cte == nil {
			continue
		}
		switch cte.Ctequery.GetNode().(type) {
		case *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt,
			*pg_query.Node_MergeStmt:
			w.st.ModifyingCTE = true
		}
		w.visitNode(cte.Ctequery)
		if !wc.Recursive {
			w.scopes[top] = append(w.scopes[top], cte.Ctename)
		}
	}
	return true
}

func (w *walker) pop(pushed bool) {
	if pushed {
		w.scopes = w.scopes[:len(w.scopes)-1]
	}
}

func (w *walker) inScope(name string) bool {
	for i := len(w.scopes) - 1; i >= 0; i-- {
		for _, n := range w.scopes[i] {
			if n == name {
				return true
			}
		}
	}
	return false
}

func (w *walker) selectStmt(n *pg_query.SelectStmt) {
	pushed := w.with(n.WithClause)
	if n.IntoClause != nil {
		w.st.SelectInto = true
		w.create(n.IntoClause.Rel, n.IntoClause.OnCommit)
	}
	for _, lc := range n.LockingClause {
		if c := lc.GetLockingClause(); c != nil {
			w.lock(c.Strength)
		}
	}
	w.children(n.ProtoReflect(), "with_clause", "into_clause", "locking_clause")
	w.pop(pushed)
}

func (w *walker) insert(n *pg_query.InsertStmt) {
	pushed := w.with(n.WithClause)
	w.write(n.Relation)
	w.children(n.ProtoReflect(), "with_clause", "relation")
	w.pop(pushed)
}

func (w *walker) update(n *pg_query.UpdateStmt) {
	pushed := w.with(n.WithClause)
	w.write(n.Relation)
	w.children(n.ProtoReflect(), "with_clause", "relation")
	w.pop(pushed)
}

func (w *walker) delete(n *pg_query.DeleteStmt) {
	pushed := w.with(n.WithClause)
	w.write(n.Relation)
	w.children(n.ProtoReflect(), "with_clause", "relation")
	w.pop(pushed)
}

func (w *walker) merge(n *pg_query.MergeStmt) {
	pushed := w.with(n.WithClause)
	w.write(n.Relation)
	w.children(n.ProtoReflect(), "with_clause", "relation")
	w.pop(pushed)
}

func (w *walker) lock(s pg_query.LockClauseStrength) {
	var l LockStrength
	switch s {
	case pg_query.LockClauseStrength_LCS_FORKEYSHARE:
		l = LockForKeyShare
	case pg_query.LockClauseStrength_LCS_FORSHARE:
		l = LockForShare
	case pg_query.LockClauseStrength_LCS_FORNOKEYUPDATE:
		l = LockForNoKeyUpdate
	case pg_query.LockClauseStrength_LCS_FORUPDATE:
		l = LockForUpdate
	}
	if l > w.st.Locking {
		w.st.Locking = l
	}
}

// read records a relation in a FROM clause or other reading position,
// unless it names a common table expression in scope.
func (w *walker) read(rv *pg_query.RangeVar) {
	if rv == nil || rv.Schemaname == "" && w.inScope(rv.Relname) {
		return
	}
	w.addRead(Relation{Schema: rv.Schemaname, Name: rv.Relname})
}

func (w *walker) write(rv *pg_query.RangeVar) {
	if rv == nil {
		return
	}
	r := Relation{Schema: rv.Schemaname, Name: rv.Relname}
	for _, x := range w.st.Writes {
		if x == r {
			return
		}
	}
	w.st.Writes = append(w.st.Writes, r)
}

// create records a relation the statement creates, and its session effect
// when it is temporary.
func (w *walker) create(rv *pg_query.RangeVar, onCommit pg_query.OnCommitAction) {
	if rv == nil {
		return
	}
	w.addCreate(Relation{Schema: rv.Schemaname, Name: rv.Relname})
	if rv.Relpersistence == "t" || rv.Schemaname == "pg_temp" {
		w.effect(Effect{Kind: EffectCreateTemp, Name: rv.Relname, Local: onCommit == pg_query.OnCommitAction_ONCOMMIT_DROP})
	}
}

func (w *walker) addCreate(r Relation) {
	for _, x := range w.st.Creates {
		if x == r {
			return
		}
	}
	w.st.Creates = append(w.st.Creates, r)
}

func (w *walker) addRead(r Relation) {
	for _, x := range w.st.Reads {
		if x == r {
			return
		}
	}
	w.st.Reads = append(w.st.Reads, r)
}

func (w *walker) addFunction(f Function) {
	for _, x := range w.st.Functions {
		if x == f {
			return
		}
	}
	w.st.Functions = append(w.st.Functions, f)
}

func (w *walker) effect(e Effect) {
	w.st.Effects = append(w.st.Effects, e)
}

// drop classifies DROP.
func (w *walker) drop(d *pg_query.DropStmt) {
	switch {
	case isRelationType(d.RemoveType):
		for _, o := range d.Objects {
			if r, ok := qualifiedName(o.GetList().GetItems()); ok {
				w.st.Writes = appendRelation(w.st.Writes, r)
			}
		}
	case d.RemoveType == pg_query.ObjectType_OBJECT_POLICY:
		// The object is the table's name followed by the policy's.
		for _, o := range d.Objects {
			items := o.GetList().GetItems()
			if len(items) > 1 {
				if r, ok := qualifiedName(items[:len(items)-1]); ok {
					w.st.Writes = appendRelation(w.st.Writes, r)
				}
			}
		}
	default:
		w.st.UnknownWrites = !noDataEffect(d.RemoveType)
	}
}

func appendRelation(list []Relation, r Relation) []Relation {
	for _, x := range list {
		if x == r {
			return list
		}
	}
	return append(list, r)
}

// qualifiedName reads a name given as a list of String nodes: name,
// schema.name or catalog.schema.name.
func qualifiedName(items []*pg_query.Node) (Relation, bool) {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.GetNode().(*pg_query.Node_String_)
		if !ok {
			return Relation{}, false
		}
		parts = append(parts, s.String_.GetSval())
	}
	switch len(parts) {
	case 1:
		return Relation{Name: parts[0]}, true
	case 2, 3:
		return Relation{Schema: parts[len(parts)-2], Name: parts[len(parts)-1]}, true
	}
	return Relation{}, false
}

// sqlValueFunctionNames maps the SQL-standard value functions to the names
// PostgreSQL's documentation gives them.
var sqlValueFunctionNames = map[pg_query.SQLValueFunctionOp]string{
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:        "current_date",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME:        "current_time",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:      "current_time",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP:   "current_timestamp",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N: "current_timestamp",
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME:           "localtime",
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME_N:         "localtime",
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP:      "localtimestamp",
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:    "localtimestamp",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:        "current_role",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER:        "current_user",
	pg_query.SQLValueFunctionOp_SVFOP_USER:                "user",
	pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:        "session_user",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:     "current_catalog",
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:      "current_schema",
}

// sqlValueFunction records CURRENT_DATE and its kin: stable, because they
// read the transaction's start time or the session's role and schema.
func (w *walker) sqlValueFunction(n *pg_query.SQLValueFunction) {
	name, ok := sqlValueFunctionNames[n.Op]
	if !ok {
		name = strings.ToLower(strings.TrimPrefix(n.Op.String(), "SVFOP_"))
	}
	w.addFunction(Function{Schema: "pg_catalog", Name: name, Fixed: VolatilityStable})
}

// operator records a user-visible operator call.
func (w *walker) operator(n *pg_query.A_Expr) {
	switch n.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP, pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL:
	default:
		return
	}
	r, ok := qualifiedName(n.Name)
	if !ok {
		return
	}
	args := 2
	if n.Lexpr == nil {
		args = 1
	}
	w.addFunction(Function{Schema: r.Schema, Name: r.Name, Args: args, Operator: true})
}

// call records a function call and the read-only and session effects of
// the built-in functions that have them.
func (w *walker) call(n *pg_query.FuncCall) {
	r, ok := qualifiedName(n.Funcname)
	if !ok {
		return
	}
	args := len(n.Args)
	w.addFunction(Function{Schema: r.Schema, Name: r.Name, Args: args})
	if r.Schema != "" && r.Schema != "pg_catalog" {
		return
	}
	switch r.Name {
	case "set_config":
		w.writer = true
		w.setConfig(n.Args)
	case "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared":
		w.writer = true
		w.effect(Effect{Kind: EffectAdvisoryLock, Name: r.Name})
	case "pg_advisory_unlock", "pg_advisory_unlock_shared":
		w.writer = true
		w.effect(Effect{Kind: EffectAdvisoryUnlock, Name: r.Name})
	case "pg_advisory_unlock_all":
		w.writer = true
		w.effect(Effect{Kind: EffectAdvisoryUnlockAll, Name: r.Name})
	default:
		if writingBuiltin(r.Name) {
			w.writer = true
		}
	}
}

// writingBuiltin reports the built-in functions that write, take locks,
// notify or change session state. They are the functions PostgreSQL refuses
// in a read-only transaction, plus the lock and notify functions, which it
// allows but which are not reads. [Catalog.ReadOnly] also uses pg_proc's
// parallel-safety marking, which covers user-defined functions.
func writingBuiltin(name string) bool {
	switch name {
	case "nextval", "setval", "pg_notify", "txid_current", "pg_current_xact_id", "setseed",
		"pg_advisory_xact_lock", "pg_advisory_xact_lock_shared",
		"pg_try_advisory_xact_lock", "pg_try_advisory_xact_lock_shared",
		"pg_switch_wal", "pg_create_restore_point", "pg_logical_emit_message",
		"pg_import_system_collations", "pg_export_snapshot", "pg_nextoid",
		"lowrite", "loread", "query_to_xml", "cursor_to_xml", "query_to_xmlschema",
		"cursor_to_xmlschema", "query_to_xml_and_xmlschema", "ts_stat", "ts_rewrite",
		"brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range",
		"gin_clean_pending_list":
		return true
	}
	return strings.HasPrefix(name, "lo_") ||
		strings.HasPrefix(name, "pg_stat_reset") ||
		strings.HasPrefix(name, "pg_replication_origin_") ||
		strings.Contains(name, "replication_slot") ||
		strings.HasPrefix(name, "pg_logical_slot_")
}

// estimateSize approximates the bytes an Info retains.
func (i *Info) estimateSize() int {
	n := infoOverhead + len(i.FingerprintHex)
	for k := range i.Statements {
		n += statementSize(&i.Statements[k])
	}
	return n
}

const (
	infoOverhead      = 96
	statementOverhead = 256
	elementOverhead   = 48
)

func statementSize(st *Statement) int {
	n := statementOverhead
	for _, r := range st.Reads {
		n += elementOverhead + len(r.Schema) + len(r.Name)
	}
	for _, r := range st.Writes {
		n += elementOverhead + len(r.Schema) + len(r.Name)
	}
	for _, r := range st.Creates {
		n += elementOverhead + len(r.Schema) + len(r.Name)
	}
	for _, f := range st.Functions {
		n += elementOverhead + len(f.Schema) + len(f.Name)
	}
	n += st.keys.size()
	for _, e := range st.Effects {
		n += elementOverhead + len(e.Name) + len(e.Value)
	}
	n += len(st.Transaction.Isolation) + len(st.Transaction.Name)
	if st.Prepared != nil {
		n += statementSize(st.Prepared)
	}
	return n
}

// absorb adds what an executed inner statement (of EXPLAIN ANALYZE, COPY
// (query) TO, DECLARE, CREATE TABLE AS) does to st.
func (st *Statement) absorb(in *Statement) {
	for _, r := range in.Reads {
		st.Reads = appendRelation(st.Reads, r)
	}
	for _, r := range in.Writes {
		st.Writes = appendRelation(st.Writes, r)
	}
	for _, r := range in.Creates {
		st.Creates = appendRelation(st.Creates, r)
	}
	for _, f := range in.Functions {
		found := false
		for _, x := range st.Functions {
			if x == f {
				found = true
				break
			}
		}
		if !found {
			st.Functions = append(st.Functions, f)
		}
	}
	st.Effects = append(st.Effects, in.Effects...)
	st.UnknownWrites = st.UnknownWrites || in.UnknownWrites
	st.SelectInto = st.SelectInto || in.SelectInto
	st.ModifyingCTE = st.ModifyingCTE || in.ModifyingCTE
	st.Sampling = st.Sampling || in.Sampling
	if in.Locking > st.Locking {
		st.Locking = in.Locking
	}
}
