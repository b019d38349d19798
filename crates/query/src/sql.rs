//! SQL to a typed [`Plan`]: the text parsed with `sqlparser` (generic dialect), then bound
//! against the inputs' schemas — names become column indices, every expression gets its type,
//! and anything outside the supported subset is refused before any cell runs, naming the
//! construct and the subset ([`SUPPORTED`]).
//!
//! Types follow DuckDB's (the cross-check's) rules: `/` gives a float (by zero: NULL); `+ - *`
//! of integers stay integers, with a decimal they give a decimal (scales add under `*`), with a
//! float a float; `sum` keeps an integer or decimal type, `avg` is a float, `count` an integer.

use std::fmt;

use membench_protocol::{
    AggFunc, Aggregate, BinOp, ColumnType, DatePart, Expr, Func, Group, JoinKind, JoinSpec,
    Literal, OrderKey, Output, Plan, ScanColumn, TableSchema, Typed,
};
use sqlparser::ast;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use crate::text;

/// The subset, as the refusal lists it.
pub const SUPPORTED: &str = "SELECT of columns and expressions (arithmetic, comparisons, \
AND/OR/NOT, IS [NOT] NULL, IN (…), BETWEEN, LIKE/ILIKE, CASE, CAST, COALESCE, lower/upper/trim/\
length/substr, abs/round, extract(year|month|day|hour FROM …), ||), FROM one input or an inner \
or left equi-JOIN of two, WHERE, GROUP BY with count(*)/count(col)/count(DISTINCT col)/sum/min/\
max/avg, HAVING, ORDER BY, LIMIT n";

/// Why a query has no plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// Not SQL the parser reads.
    Parse(String),
    /// SQL outside the subset.
    Unsupported(String),
    /// A name that is not a column of the inputs.
    UnknownColumn { name: String, columns: String },
    /// A table that is not an input.
    UnknownTable { name: String, inputs: String },
    /// A well-formed query whose types do not fit (`sum` of a string, `'a' > 1`).
    Type(String),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Parse(m) => write!(f, "the query is not SQL membench reads: {m}"),
            PlanError::Unsupported(c) => {
                write!(f, "unsupported in a query: {c}. membench runs: {SUPPORTED}")
            }
            PlanError::UnknownColumn { name, columns } => {
                write!(f, "unknown column {name:?} (columns: {columns})")
            }
            PlanError::UnknownTable { name, inputs } => {
                write!(f, "unknown table {name:?} (inputs: {inputs})")
            }
            PlanError::Type(m) => write!(f, "type error: {m}"),
        }
    }
}

impl std::error::Error for PlanError {}

type Result<T> = std::result::Result<T, PlanError>;

fn unsupported<T>(what: impl fmt::Display) -> Result<T> {
    Err(PlanError::Unsupported(what.to_string()))
}

/// Plans `sql` over the named inputs.
pub fn plan(sql: &str, inputs: &[(&str, &TableSchema)]) -> Result<Plan> {
    let mut stmts =
        Parser::parse_sql(&GenericDialect {}, sql).map_err(|e| PlanError::Parse(e.to_string()))?;
    if stmts.len() != 1 {
        return unsupported(format!("{} statements (one SELECT is run)", stmts.len()));
    }
    let ast::Statement::Query(q) = stmts.remove(0) else {
        return unsupported("a statement other than SELECT");
    };
    Binder::new(sql, inputs).query(*q)
}

/// One table in scope: its input index, the name it is referred to by, its schema.
struct Scope<'a> {
    input: usize,
    alias: String,
    schema: &'a TableSchema,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Over a row: columns, no aggregates.
    Row,
    /// Over a group: keys and aggregates.
    Grouped,
}

struct Binder<'a> {
    sql: &'a str,
    inputs: &'a [(&'a str, &'a TableSchema)],
    scopes: Vec<Scope<'a>>,
    columns: Vec<ScanColumn>,
    keys: Vec<Typed>,
    aggregates: Vec<Aggregate>,
}

impl<'a> Binder<'a> {
    fn new(sql: &'a str, inputs: &'a [(&'a str, &'a TableSchema)]) -> Self {
        Binder {
            sql,
            inputs,
            scopes: Vec::new(),
            columns: Vec::new(),
            keys: Vec::new(),
            aggregates: Vec::new(),
        }
    }

    fn query(mut self, q: ast::Query) -> Result<Plan> {
        let ast::Query {
            with,
            body,
            order_by,
            limit_clause,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
            ..
        } = q;
        if with.is_some() {
            return unsupported("WITH");
        }
        if fetch.is_some() || !locks.is_empty() || for_clause.is_some() || settings.is_some() {
            return unsupported("FETCH, FOR or SETTINGS");
        }
        if format_clause.is_some() || !pipe_operators.is_empty() {
            return unsupported("FORMAT or pipe operators");
        }
        let select = match *body {
            ast::SetExpr::Select(s) => *s,
            ast::SetExpr::SetOperation { op, .. } => return unsupported(op),
            other => return unsupported(format!("a query body of the form {other}")),
        };
        let limit = match limit_clause {
            None => None,
            Some(ast::LimitClause::LimitOffset {
                limit: None,
                offset: None,
                limit_by,
            }) if limit_by.is_empty() => None,
            Some(ast::LimitClause::LimitOffset {
                limit: Some(e),
                offset: None,
                limit_by,
            }) if limit_by.is_empty() => Some(self.limit(&e)?),
            Some(other) => return unsupported(format!("{other} (only LIMIT n)")),
        };
        let ast::Select {
            distinct,
            top,
            projection,
            exclude,
            into,
            from,
            lateral_views,
            prewhere,
            selection,
            group_by,
            cluster_by,
            distribute_by,
            sort_by,
            having,
            named_window,
            qualify,
            connect_by,
            ..
        } = select;
        if distinct.is_some() {
            return unsupported("SELECT DISTINCT (use GROUP BY)");
        }
        if top.is_some() || into.is_some() || exclude.is_some() || prewhere.is_some() {
            return unsupported("TOP, INTO, EXCLUDE or PREWHERE");
        }
        if !lateral_views.is_empty() || !cluster_by.is_empty() || !distribute_by.is_empty() {
            return unsupported("LATERAL VIEW, CLUSTER BY or DISTRIBUTE BY");
        }
        if !sort_by.is_empty() || !named_window.is_empty() || qualify.is_some() {
            return unsupported("SORT BY, WINDOW or QUALIFY");
        }
        if !connect_by.is_empty() {
            return unsupported("CONNECT BY");
        }
        let join = self.from(from)?;
        let filter = match selection {
            Some(e) => Some(self.condition(&e, Ctx::Row, "WHERE")?),
            None => None,
        };
        let group_exprs = match group_by {
            ast::GroupByExpr::Expressions(exprs, mods) if mods.is_empty() => exprs,
            other => return unsupported(other),
        };
        // Expand `*` and name the select items.
        let mut items: Vec<(String, ast::Expr)> = Vec::new();
        for item in projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => items.push((output_name(&e), e)),
                ast::SelectItem::ExprWithAlias { expr, alias } => items.push((alias.value, expr)),
                ast::SelectItem::Wildcard(opts) if is_plain_wildcard(&opts) => {
                    for s in &self.scopes {
                        for c in &s.schema.columns {
                            let qualified = ast::Expr::CompoundIdentifier(vec![
                                ast::Ident::new(s.alias.clone()),
                                ast::Ident::with_quote('"', c.name.clone()),
                            ]);
                            items.push((c.name.clone(), qualified));
                        }
                    }
                }
                other => return unsupported(format!("the select item {other}")),
            }
        }
        let grouped = !group_exprs.is_empty()
            || items.iter().any(|(_, e)| has_aggregate(e))
            || having.as_ref().is_some_and(has_aggregate)
            || having.is_some();
        let ctx = if grouped { Ctx::Grouped } else { Ctx::Row };
        if grouped {
            for g in &group_exprs {
                let g = self.resolve_item_ref(g, &items)?;
                if has_aggregate(&g) {
                    return unsupported("an aggregate in GROUP BY");
                }
                let t = self.expr(&g, Ctx::Row)?;
                if !self.keys.contains(&t) {
                    self.keys.push(t);
                }
            }
        }
        let mut output = Vec::new();
        for (name, e) in &items {
            let t = self.expr(e, ctx)?;
            output.push(Output {
                name: name.clone(),
                expr: t.expr,
                ty: t.ty,
                hidden: false,
            });
        }
        let having = match having {
            Some(h) => Some(self.condition(&h, Ctx::Grouped, "HAVING")?),
            None => None,
        };
        let mut order = Vec::new();
        if let Some(ob) = order_by {
            let exprs = match ob.kind {
                ast::OrderByKind::Expressions(v) if ob.interpolate.is_none() => v,
                _ => return unsupported("ORDER BY ALL or INTERPOLATE"),
            };
            for o in exprs {
                if o.with_fill.is_some() {
                    return unsupported("WITH FILL");
                }
                let idx = self.order_target(&o.expr, &items, &mut output, ctx)?;
                let desc = o.options.asc == Some(false);
                order.push(OrderKey {
                    output: idx,
                    desc,
                    nulls_first: o.options.nulls_first.unwrap_or(desc),
                });
            }
        }
        for o in &output {
            if o.ty.is_none() && !matches!(o.expr, Expr::Lit(Literal::Null)) {
                return Err(PlanError::Type(format!(
                    "the type of {} cannot be told",
                    o.name
                )));
            }
        }
        Ok(Plan {
            sql: self.sql.to_string(),
            inputs: self
                .scopes
                .iter()
                .map(|s| s.alias_input(self.inputs))
                .collect(),
            join,
            columns: self.columns,
            filter,
            group: grouped.then_some(Group {
                keys: self.keys,
                aggregates: self.aggregates,
                having,
            }),
            output,
            order,
            limit,
        })
    }

    fn limit(&self, e: &ast::Expr) -> Result<u64> {
        match e {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => n
                    .parse()
                    .map_err(|_| PlanError::Type(format!("LIMIT {n}: a count is needed"))),
                other => Err(PlanError::Type(format!("LIMIT {other}: a count is needed"))),
            },
            other => unsupported(format!("LIMIT {other} (a number is needed)")),
        }
    }

    fn from(&mut self, from: Vec<ast::TableWithJoins>) -> Result<Option<JoinSpec>> {
        if from.len() != 1 {
            return unsupported(if from.is_empty() {
                "a SELECT without FROM".to_string()
            } else {
                "several tables in FROM (a cross join; use JOIN … ON)".to_string()
            });
        }
        let twj = from.into_iter().next().expect("one");
        self.table(twj.relation)?;
        if twj.joins.len() > 1 {
            return unsupported("more than one JOIN");
        }
        let Some(j) = twj.joins.into_iter().next() else {
            return Ok(None);
        };
        self.table(j.relation)?;
        let (kind, constraint) = match j.join_operator {
            ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => (JoinKind::Inner, c),
            ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
            other => {
                let text = format!("{other:?}");
                let name = text.split('(').next().unwrap_or(&text).to_string();
                return unsupported(format!("{name} join (inner and left joins are run)"));
            }
        };
        let ast::JoinConstraint::On(on) = constraint else {
            return unsupported("a join without ON a = b");
        };
        let (l, r) = match &on {
            ast::Expr::BinaryOp {
                left,
                op: ast::BinaryOperator::Eq,
                right,
            } => (left, right),
            other => return unsupported(format!("the join condition {other} (one a = b)")),
        };
        let (l, r) = (self.column_ref(l)?, self.column_ref(r)?);
        let (l, r) = match (self.columns[l].input, self.columns[r].input) {
            (0, 1) => (l, r),
            (1, 0) => (r, l),
            _ => return unsupported(format!("the join condition {on} (a column of each table)")),
        };
        let (lt, rt) = (self.columns[l].ty, self.columns[r].ty);
        if comparable(Some(lt), Some(rt)).is_none() {
            return Err(PlanError::Type(format!("the join compares {lt} with {rt}")));
        }
        Ok(Some(JoinSpec {
            kind,
            left_key: l,
            right_key: r,
        }))
    }

    fn table(&mut self, t: ast::TableFactor) -> Result<()> {
        let ast::TableFactor::Table {
            name, alias, args, ..
        } = t
        else {
            return unsupported(format!(
                "the table expression {t} (an input's name is needed)"
            ));
        };
        if args.is_some() {
            return unsupported("a table function");
        }
        let name = name.to_string();
        let bare = name.trim_matches('"');
        let input = self
            .inputs
            .iter()
            .position(|(n, _)| *n == bare)
            .ok_or_else(|| PlanError::UnknownTable {
                name: bare.to_string(),
                inputs: self
                    .inputs
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let alias = alias.map_or_else(|| bare.to_string(), |a| a.name.value);
        if self.scopes.iter().any(|s| s.alias == alias) {
            return unsupported(format!("{alias} twice in FROM (give it another alias)"));
        }
        self.scopes.push(Scope {
            input,
            alias,
            schema: self.inputs[input].1,
        });
        Ok(())
    }

    /// A select item's alias or 1-based position, as GROUP BY may name it.
    fn resolve_item_ref(&self, g: &ast::Expr, items: &[(String, ast::Expr)]) -> Result<ast::Expr> {
        if let ast::Expr::Value(v) = g
            && let ast::Value::Number(n, _) = &v.value
        {
            let i: usize = n.parse().unwrap_or(0);
            return items
                .get(i.wrapping_sub(1))
                .map(|(_, e)| e.clone())
                .ok_or_else(|| PlanError::Type(format!("GROUP BY {n}: no such select item")));
        }
        if let ast::Expr::Identifier(id) = g
            && self.lookup(None, &id.value).is_err()
            && let Some((_, e)) = items.iter().find(|(n, _)| *n == id.value)
        {
            return Ok(e.clone());
        }
        Ok(g.clone())
    }

    /// The output an ORDER BY item sorts by: a position, an output's name, or an expression
    /// (added as a hidden output when no output is it).
    fn order_target(
        &mut self,
        e: &ast::Expr,
        items: &[(String, ast::Expr)],
        output: &mut Vec<Output>,
        ctx: Ctx,
    ) -> Result<usize> {
        if let ast::Expr::Value(v) = e
            && let ast::Value::Number(n, _) = &v.value
        {
            let i: usize = n.parse().unwrap_or(0);
            return if (1..=items.len()).contains(&i) {
                Ok(i - 1)
            } else {
                Err(PlanError::Type(format!(
                    "ORDER BY {n}: no such select item"
                )))
            };
        }
        if let ast::Expr::Identifier(id) = e
            && let Some(i) = items.iter().position(|(n, _)| *n == id.value)
        {
            return Ok(i);
        }
        let t = self.expr(e, ctx)?;
        if let Some(i) = output.iter().position(|o| o.expr == t.expr) {
            return Ok(i);
        }
        output.push(Output {
            name: e.to_string(),
            expr: t.expr,
            ty: t.ty,
            hidden: true,
        });
        Ok(output.len() - 1)
    }

    fn condition(&mut self, e: &ast::Expr, ctx: Ctx, clause: &str) -> Result<Expr> {
        let t = self.expr(e, ctx)?;
        match t.ty {
            Some(ColumnType::Bool) | None => Ok(t.expr),
            Some(ty) => Err(PlanError::Type(format!(
                "{clause} {e}: a condition is needed, not a {ty}"
            ))),
        }
    }

    /// Finds a column by (optional) table and name; returns its scope index and column index.
    fn lookup(&self, table: Option<&str>, name: &str) -> Result<(usize, usize)> {
        let mut found = None;
        for (si, s) in self.scopes.iter().enumerate() {
            if table.is_some_and(|t| t != s.alias) {
                continue;
            }
            if let Some(ci) = s.schema.index_of(name) {
                if found.is_some() {
                    return Err(PlanError::Type(format!(
                        "column {name:?} is in both tables; qualify it (table.{name})"
                    )));
                }
                found = Some((si, ci));
            }
        }
        found.ok_or_else(|| {
            if let Some(t) = table
                && !self.scopes.iter().any(|s| s.alias == t)
            {
                return PlanError::UnknownTable {
                    name: t.to_string(),
                    inputs: self
                        .scopes
                        .iter()
                        .map(|s| s.alias.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                };
            }
            let columns = self
                .scopes
                .iter()
                .filter(|s| table.is_none_or(|t| t == s.alias))
                .map(|s| s.schema.names())
                .collect::<Vec<_>>()
                .join("; ");
            PlanError::UnknownColumn {
                name: name.to_string(),
                columns,
            }
        })
    }

    /// A column reference as a [`Plan::columns`] index (added on first use).
    fn column_ref(&mut self, e: &ast::Expr) -> Result<usize> {
        let (table, name) = match e {
            ast::Expr::Identifier(id) => (None, id.value.as_str()),
            ast::Expr::CompoundIdentifier(ids) if ids.len() == 2 => {
                (Some(ids[0].value.as_str()), ids[1].value.as_str())
            }
            other => return unsupported(format!("{other} where a column is needed")),
        };
        let (si, ci) = self.lookup(table, name)?;
        let scan = ScanColumn {
            input: si,
            column: ci,
            name: name.to_string(),
            ty: self.scopes[si].schema.columns[ci].ty,
        };
        if let Some(i) = self
            .columns
            .iter()
            .position(|c| c.input == si && c.column == ci)
        {
            return Ok(i);
        }
        self.columns.push(scan);
        Ok(self.columns.len() - 1)
    }

    fn expr(&mut self, e: &ast::Expr, ctx: Ctx) -> Result<Typed> {
        if ctx == Ctx::Grouped {
            if let Some(t) = self.aggregate(e)? {
                return Ok(t);
            }
            if !has_aggregate(e) {
                // A key itself (`category`, or `extract(year FROM d)` grouped by that).
                if let Ok(t) = self.expr(e, Ctx::Row)
                    && let Some(i) = self.keys.iter().position(|k| k.expr == t.expr)
                {
                    return Ok(Typed {
                        expr: Expr::Key(i),
                        ty: self.keys[i].ty,
                    });
                }
            }
        }
        use ast::Expr as A;
        Ok(match e {
            A::Identifier(_) | A::CompoundIdentifier(_) => {
                if ctx == Ctx::Grouped {
                    return Err(PlanError::Type(format!(
                        "column {e} must be in GROUP BY or inside an aggregate"
                    )));
                }
                let i = self.column_ref(e)?;
                Typed {
                    expr: Expr::Col(i),
                    ty: Some(self.columns[i].ty),
                }
            }
            A::Nested(inner) => self.expr(inner, ctx)?,
            A::Value(v) => literal(&v.value)?,
            A::TypedString(ts) => {
                let ty: ColumnType = ts.data_type.to_string().parse().map_err(PlanError::Type)?;
                let s = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => return unsupported(format!("the literal {other}")),
                };
                cast_literal(&Literal::Str(s), ty)?
            }
            A::UnaryOp { op, expr } => {
                let t = self.expr(expr, ctx)?;
                match op {
                    ast::UnaryOperator::Minus => {
                        numeric(t.ty, &format!("-{expr}"))?;
                        if let Expr::Lit(l) = &t.expr {
                            Typed {
                                expr: Expr::Lit(negate(l)),
                                ty: t.ty,
                            }
                        } else {
                            Typed {
                                expr: Expr::Neg(Box::new(t.expr)),
                                ty: t.ty,
                            }
                        }
                    }
                    ast::UnaryOperator::Plus => {
                        numeric(t.ty, &format!("+{expr}"))?;
                        t
                    }
                    ast::UnaryOperator::Not => {
                        boolean(t.ty, &format!("NOT {expr}"))?;
                        Typed {
                            expr: Expr::Not(Box::new(t.expr)),
                            ty: Some(ColumnType::Bool),
                        }
                    }
                    other => return unsupported(format!("the operator {other}")),
                }
            }
            A::BinaryOp { left, op, right } => self.binary(left, op, right, ctx)?,
            A::IsNull(x) | A::IsNotNull(x) => Typed {
                expr: Expr::IsNull {
                    expr: Box::new(self.expr(x, ctx)?.expr),
                    negated: matches!(e, A::IsNotNull(_)),
                },
                ty: Some(ColumnType::Bool),
            },
            A::InList {
                expr,
                list,
                negated,
            } => {
                let t = self.expr(expr, ctx)?;
                let mut items = Vec::new();
                for item in list {
                    let i = self.coerce_to(item, t.ty, ctx)?;
                    compare_types(t.ty, i.ty, &format!("{expr} IN (… {item} …)"))?;
                    items.push(i.expr);
                }
                Typed {
                    expr: Expr::In {
                        expr: Box::new(t.expr),
                        list: items,
                        negated: *negated,
                    },
                    ty: Some(ColumnType::Bool),
                }
            }
            A::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let t = self.expr(expr, ctx)?;
                let lo = self.coerce_to(low, t.ty, ctx)?;
                let hi = self.coerce_to(high, t.ty, ctx)?;
                compare_types(t.ty, lo.ty, &e.to_string())?;
                compare_types(t.ty, hi.ty, &e.to_string())?;
                Typed {
                    expr: Expr::Between {
                        expr: Box::new(t.expr),
                        low: Box::new(lo.expr),
                        high: Box::new(hi.expr),
                        negated: *negated,
                    },
                    ty: Some(ColumnType::Bool),
                }
            }
            A::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | A::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any || escape_char.is_some() {
                    return unsupported("LIKE ANY or LIKE … ESCAPE");
                }
                let t = self.expr(expr, ctx)?;
                if !matches!(t.ty, Some(ColumnType::String) | None) {
                    return Err(PlanError::Type(format!("{e}: LIKE needs a string")));
                }
                let pattern = match &**pattern {
                    A::Value(v) => match &v.value {
                        ast::Value::SingleQuotedString(s) => s.clone(),
                        _ => return unsupported("a LIKE pattern that is not a string literal"),
                    },
                    _ => return unsupported("a LIKE pattern that is not a string literal"),
                };
                Typed {
                    expr: Expr::Like {
                        expr: Box::new(t.expr),
                        pattern,
                        negated: *negated,
                        case_insensitive: matches!(e, A::ILike { .. }),
                    },
                    ty: Some(ColumnType::Bool),
                }
            }
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(o) => Some(self.expr(o, ctx)?),
                    None => None,
                };
                let mut whens = Vec::new();
                let mut ty = None;
                let mut results = Vec::new();
                for w in conditions {
                    let cond = match &operand {
                        Some(o) => {
                            let v = self.coerce_to(&w.condition, o.ty, ctx)?;
                            compare_types(o.ty, v.ty, &e.to_string())?;
                            Expr::Bin(BinOp::Eq, Box::new(o.expr.clone()), Box::new(v.expr))
                        }
                        None => self.condition(&w.condition, ctx, "WHEN")?,
                    };
                    let r = self.expr(&w.result, ctx)?;
                    ty = unify(ty, r.ty, &e.to_string())?;
                    results.push(r.expr.clone());
                    whens.push((cond, r.expr));
                }
                let otherwise = match else_result {
                    Some(x) => {
                        let r = self.expr(x, ctx)?;
                        ty = unify(ty, r.ty, &e.to_string())?;
                        Some(Box::new(r.expr))
                    }
                    None => None,
                };
                Typed {
                    expr: Expr::Case { whens, otherwise },
                    ty,
                }
            }
            A::Cast {
                kind,
                expr,
                data_type,
                format,
                ..
            } => {
                if !matches!(kind, ast::CastKind::Cast | ast::CastKind::DoubleColon)
                    || format.is_some()
                {
                    return unsupported(format!("{e} (plain CAST)"));
                }
                let ty: ColumnType = data_type
                    .to_string()
                    .parse()
                    .map_err(|m| PlanError::Type(format!("CAST to {data_type}: {m}")))?;
                let t = self.expr(expr, ctx)?;
                if let Expr::Lit(l) = &t.expr {
                    cast_literal(l, ty)?
                } else {
                    Typed {
                        expr: Expr::Cast(Box::new(t.expr), ty),
                        ty: Some(ty),
                    }
                }
            }
            A::Extract { field, expr, .. } => {
                let part = match field.to_string().to_ascii_lowercase().as_str() {
                    "year" => DatePart::Year,
                    "month" => DatePart::Month,
                    "day" => DatePart::Day,
                    "hour" => DatePart::Hour,
                    other => return unsupported(format!("extract({other} …)")),
                };
                let t = self.expr(expr, ctx)?;
                match (t.ty, part) {
                    (Some(ColumnType::Date), DatePart::Hour) => {
                        return Err(PlanError::Type(format!("{e}: a date has no hour")));
                    }
                    (Some(ColumnType::Date | ColumnType::Timestamp { .. }) | None, _) => {}
                    (Some(ty), _) => {
                        return Err(PlanError::Type(format!(
                            "{e}: extract needs a date, not {ty}"
                        )));
                    }
                }
                Typed {
                    expr: Expr::Extract(part, Box::new(t.expr)),
                    ty: Some(ColumnType::Int64),
                }
            }
            A::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.expr(expr, ctx)?];
                for x in [substring_from, substring_for].into_iter().flatten() {
                    args.push(self.expr(x, ctx)?);
                }
                self.call(Func::Substr, args, &e.to_string())?
            }
            A::Trim {
                trim_where,
                trim_what,
                expr,
                trim_characters,
            } => {
                if trim_where.is_some() || trim_what.is_some() || trim_characters.is_some() {
                    return unsupported("TRIM(… FROM …) (trim(s) is run)");
                }
                let t = self.expr(expr, ctx)?;
                self.call(Func::Trim, vec![t], &e.to_string())?
            }
            A::Function(f) => self.function(f, ctx)?,
            other => return unsupported(describe(other)),
        })
    }

    /// Binds `e`, reading a string literal as `ty` when `ty` is a date or timestamp (as SQL
    /// engines read `d >= '2024-01-01'`).
    fn coerce_to(&mut self, e: &ast::Expr, ty: Option<ColumnType>, ctx: Ctx) -> Result<Typed> {
        let t = self.expr(e, ctx)?;
        match (&t.expr, ty) {
            (
                Expr::Lit(l @ Literal::Str(_)),
                Some(target @ (ColumnType::Date | ColumnType::Timestamp { .. })),
            ) => cast_literal(l, target),
            _ => Ok(t),
        }
    }

    fn binary(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        ctx: Ctx,
    ) -> Result<Typed> {
        use ast::BinaryOperator as B;
        let text = format!("{left} {op} {right}");
        let op = match op {
            B::Plus => BinOp::Add,
            B::Minus => BinOp::Sub,
            B::Multiply => BinOp::Mul,
            B::Divide => BinOp::Div,
            B::Modulo => BinOp::Mod,
            B::Eq => BinOp::Eq,
            B::NotEq => BinOp::NotEq,
            B::Lt => BinOp::Lt,
            B::LtEq => BinOp::LtEq,
            B::Gt => BinOp::Gt,
            B::GtEq => BinOp::GtEq,
            B::And => BinOp::And,
            B::Or => BinOp::Or,
            B::StringConcat => BinOp::Concat,
            other => return unsupported(format!("the operator {other}")),
        };
        let mut l = self.expr(left, ctx)?;
        let mut r = self.expr(right, ctx)?;
        let ty = match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Mod => {
                arithmetic(op, numeric(l.ty, &text)?, numeric(r.ty, &text)?, &text)?
            }
            BinOp::Div => {
                numeric(l.ty, &text)?;
                numeric(r.ty, &text)?;
                Some(ColumnType::Float64)
            }
            BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq => {
                // A string literal beside a date or timestamp is read as one.
                if let Expr::Lit(lit @ Literal::Str(_)) = &r.expr
                    && matches!(l.ty, Some(ColumnType::Date | ColumnType::Timestamp { .. }))
                {
                    r = cast_literal(lit, l.ty.expect("some"))?;
                }
                if let Expr::Lit(lit @ Literal::Str(_)) = &l.expr
                    && matches!(r.ty, Some(ColumnType::Date | ColumnType::Timestamp { .. }))
                {
                    l = cast_literal(lit, r.ty.expect("some"))?;
                }
                compare_types(l.ty, r.ty, &text)?;
                Some(ColumnType::Bool)
            }
            BinOp::And | BinOp::Or => {
                boolean(l.ty, &text)?;
                boolean(r.ty, &text)?;
                Some(ColumnType::Bool)
            }
            BinOp::Concat => Some(ColumnType::String),
        };
        Ok(Typed {
            expr: Expr::Bin(op, Box::new(l.expr), Box::new(r.expr)),
            ty,
        })
    }

    /// An aggregate call, bound (its argument over the row) and registered; `None` when `e` is
    /// not one.
    fn aggregate(&mut self, e: &ast::Expr) -> Result<Option<Typed>> {
        let ast::Expr::Function(f) = e else {
            return Ok(None);
        };
        let name = f.name.to_string().to_ascii_lowercase();
        let func = match name.as_str() {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "avg" | "mean" => AggFunc::Avg,
            _ => return Ok(None),
        };
        if f.filter.is_some() || f.over.is_some() || f.null_treatment.is_some() {
            return unsupported(format!("{e} (FILTER, OVER: plain aggregates are run)"));
        }
        let list = match &f.args {
            ast::FunctionArguments::List(l) if l.clauses.is_empty() => l,
            _ => return unsupported(format!("{e}")),
        };
        let distinct = matches!(
            list.duplicate_treatment,
            Some(ast::DuplicateTreatment::Distinct)
        );
        let (arg, arg_ty) = match list.args.as_slice() {
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)]
                if func == AggFunc::Count && !distinct =>
            {
                (None, None)
            }
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x))] => {
                if has_aggregate(x) {
                    return unsupported(format!("{e} (an aggregate inside an aggregate)"));
                }
                let t = self.expr(x, Ctx::Row)?;
                (Some(t.expr), t.ty)
            }
            _ => return unsupported(format!("{e} (one argument)")),
        };
        let ty = match func {
            AggFunc::Count => ColumnType::Int64,
            AggFunc::Sum => match arg_ty {
                Some(
                    t @ (ColumnType::Int64 | ColumnType::Decimal { .. } | ColumnType::Float64),
                ) => t,
                None => ColumnType::Int64,
                Some(t) => return Err(PlanError::Type(format!("{e}: sum of a {t}"))),
            },
            AggFunc::Avg => match arg_ty {
                Some(ColumnType::Int64 | ColumnType::Decimal { .. } | ColumnType::Float64)
                | None => ColumnType::Float64,
                Some(t) => return Err(PlanError::Type(format!("{e}: avg of a {t}"))),
            },
            AggFunc::Min | AggFunc::Max => arg_ty.unwrap_or(ColumnType::Int64),
        };
        let agg = Aggregate {
            func,
            arg,
            distinct,
            arg_ty,
            ty,
        };
        let i = match self.aggregates.iter().position(|a| *a == agg) {
            Some(i) => i,
            None => {
                self.aggregates.push(agg);
                self.aggregates.len() - 1
            }
        };
        Ok(Some(Typed {
            expr: Expr::Agg(i),
            ty: Some(ty),
        }))
    }

    fn function(&mut self, f: &ast::Function, ctx: Ctx) -> Result<Typed> {
        let name = f.name.to_string().to_ascii_lowercase();
        let func = match name.as_str() {
            "coalesce" => Func::Coalesce,
            "lower" => Func::Lower,
            "upper" => Func::Upper,
            "trim" => Func::Trim,
            "length" | "char_length" => Func::Length,
            "substr" | "substring" => Func::Substr,
            "abs" => Func::Abs,
            "round" => Func::Round,
            "count" | "sum" | "min" | "max" | "avg" | "mean" => {
                return Err(PlanError::Type(format!(
                    "{f}: an aggregate inside WHERE or inside another aggregate"
                )));
            }
            _ => return unsupported(format!("the function {name}()")),
        };
        if f.filter.is_some() || f.over.is_some() {
            return unsupported(format!("{f}"));
        }
        let list = match &f.args {
            ast::FunctionArguments::List(l)
                if l.clauses.is_empty() && l.duplicate_treatment.is_none() =>
            {
                l
            }
            _ => return unsupported(format!("{f}")),
        };
        let mut args = Vec::new();
        for a in &list.args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => {
                    args.push(self.expr(x, ctx)?)
                }
                _ => return unsupported(format!("the argument {a} of {name}()")),
            }
        }
        self.call(func, args, &f.to_string())
    }

    fn call(&mut self, func: Func, args: Vec<Typed>, text: &str) -> Result<Typed> {
        let n = args.len();
        let arity = |ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(PlanError::Type(format!(
                    "{text}: wrong number of arguments"
                )))
            }
        };
        let string = |t: Option<ColumnType>| {
            if matches!(t, Some(ColumnType::String) | None) {
                Ok(())
            } else {
                Err(PlanError::Type(format!("{text}: a string is needed")))
            }
        };
        let ty = match func {
            Func::Coalesce => {
                arity(n >= 1)?;
                let mut ty = None;
                for a in &args {
                    ty = unify(ty, a.ty, text)?;
                }
                ty
            }
            Func::Lower | Func::Upper | Func::Trim => {
                arity(n == 1)?;
                string(args[0].ty)?;
                Some(ColumnType::String)
            }
            Func::Length => {
                arity(n == 1)?;
                string(args[0].ty)?;
                Some(ColumnType::Int64)
            }
            Func::Substr => {
                arity(n == 2 || n == 3)?;
                string(args[0].ty)?;
                for a in &args[1..] {
                    if !matches!(a.ty, Some(ColumnType::Int64) | None) {
                        return Err(PlanError::Type(format!("{text}: integer positions")));
                    }
                }
                Some(ColumnType::String)
            }
            Func::Abs => {
                arity(n == 1)?;
                numeric(args[0].ty, text)?
            }
            Func::Round => {
                arity(n == 1 || n == 2)?;
                let t = numeric(args[0].ty, text)?;
                let digits = match args.get(1).map(|a| &a.expr) {
                    None => 0,
                    Some(Expr::Lit(Literal::Int(d))) if (0..=9).contains(d) => *d as u8,
                    Some(_) => {
                        return unsupported(format!("{text} (round's digits: a number 0–9)"));
                    }
                };
                match t {
                    Some(ColumnType::Decimal { scale }) => Some(ColumnType::Decimal {
                        scale: scale.min(digits),
                    }),
                    other => other,
                }
            }
        };
        Ok(Typed {
            expr: Expr::Call(func, args.into_iter().map(|a| a.expr).collect()),
            ty,
        })
    }
}

impl Scope<'_> {
    fn alias_input(&self, inputs: &[(&str, &TableSchema)]) -> String {
        inputs[self.input].0.to_string()
    }
}

fn is_plain_wildcard(o: &ast::WildcardAdditionalOptions) -> bool {
    o.opt_exclude.is_none()
        && o.opt_except.is_none()
        && o.opt_replace.is_none()
        && o.opt_rename.is_none()
        && o.opt_ilike.is_none()
}

/// An unaliased select item's name: a column's own name, else the expression's text.
fn output_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(id) => id.value.clone(),
        ast::Expr::CompoundIdentifier(ids) => {
            ids.last().map(|i| i.value.clone()).unwrap_or_default()
        }
        other => other.to_string(),
    }
}

/// Whether an expression holds an aggregate call (in the constructs the binder reads; any
/// other is refused anyway).
fn has_aggregate(e: &ast::Expr) -> bool {
    use ast::Expr as A;
    match e {
        A::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            matches!(
                name.as_str(),
                "count" | "sum" | "min" | "max" | "avg" | "mean"
            ) || match &f.args {
                ast::FunctionArguments::List(l) => l.args.iter().any(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => has_aggregate(x),
                    _ => false,
                }),
                _ => false,
            }
        }
        A::BinaryOp { left, right, .. } => has_aggregate(left) || has_aggregate(right),
        A::UnaryOp { expr, .. }
        | A::Nested(expr)
        | A::IsNull(expr)
        | A::IsNotNull(expr)
        | A::Cast { expr, .. }
        | A::Extract { expr, .. }
        | A::Trim { expr, .. }
        | A::Like { expr, .. }
        | A::ILike { expr, .. } => has_aggregate(expr),
        A::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            has_aggregate(expr)
                || substring_from.as_deref().is_some_and(has_aggregate)
                || substring_for.as_deref().is_some_and(has_aggregate)
        }
        A::InList { expr, list, .. } => has_aggregate(expr) || list.iter().any(has_aggregate),
        A::Between {
            expr, low, high, ..
        } => has_aggregate(expr) || has_aggregate(low) || has_aggregate(high),
        A::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.as_deref().is_some_and(has_aggregate)
                || conditions
                    .iter()
                    .any(|w| has_aggregate(&w.condition) || has_aggregate(&w.result))
                || else_result.as_deref().is_some_and(has_aggregate)
        }
        _ => false,
    }
}

fn describe(e: &ast::Expr) -> String {
    let text = e.to_string();
    let kind = format!("{e:?}");
    let kind = kind
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("expression");
    match kind {
        "Subquery" | "InSubquery" | "Exists" => format!("a subquery ({text})"),
        "Interval" => format!("an INTERVAL ({text})"),
        _ => format!("the expression {text}"),
    }
}

fn literal(v: &ast::Value) -> Result<Typed> {
    let lit = match v {
        ast::Value::Null => {
            return Ok(Typed {
                expr: Expr::Lit(Literal::Null),
                ty: None,
            });
        }
        ast::Value::Boolean(b) => Literal::Bool(*b),
        ast::Value::Number(n, _) => number(n)?,
        ast::Value::SingleQuotedString(s) => Literal::Str(s.clone()),
        other => return unsupported(format!("the literal {other}")),
    };
    let ty = lit.ty();
    Ok(Typed {
        expr: Expr::Lit(lit),
        ty,
    })
}

fn number(n: &str) -> Result<Literal> {
    let b = n.as_bytes();
    if let Ok(v) = text::parse_int(b) {
        return Ok(Literal::Int(v));
    }
    if let Some(d) = text::decimal_digits(b)
        && d <= ColumnType::MAX_SCALE as u32
        && let Ok(units) = text::parse_decimal(b, d as u8)
    {
        return Ok(Literal::Decimal {
            units,
            scale: d as u8,
        });
    }
    text::parse_float(b)
        .map(Literal::Float)
        .map_err(|_| PlanError::Type(format!("the number {n} is out of range")))
}

fn negate(l: &Literal) -> Literal {
    match l {
        Literal::Int(v) => Literal::Int(-v),
        Literal::Float(v) => Literal::Float(-v),
        Literal::Decimal { units, scale } => Literal::Decimal {
            units: -units,
            scale: *scale,
        },
        other => other.clone(),
    }
}

/// A constant cast at plan time: a string literal read as a date, a timestamp, a number.
fn cast_literal(l: &Literal, ty: ColumnType) -> Result<Typed> {
    let bad = || PlanError::Type(format!("{l:?} cannot be read as {ty}"));
    let lit = match (l, ty) {
        (Literal::Null, _) => Literal::Null,
        (Literal::Str(s), _) => {
            match crate::text::parse_value(s.as_bytes(), ty).map_err(|_| bad())? {
                crate::text::Value::Int(v) => Literal::Int(v),
                crate::text::Value::Float(v) => Literal::Float(v),
                crate::text::Value::Decimal(units, scale) => Literal::Decimal { units, scale },
                crate::text::Value::Bool(b) => Literal::Bool(b),
                crate::text::Value::Date(d) => Literal::Date(d),
                crate::text::Value::Timestamp(t) => Literal::Timestamp(t),
                crate::text::Value::Str(s) => Literal::Str(s),
                crate::text::Value::Null => Literal::Null,
            }
        }
        _ => {
            return Ok(Typed {
                expr: Expr::Cast(Box::new(Expr::Lit(l.clone())), ty),
                ty: Some(ty),
            });
        }
    };
    Ok(Typed {
        ty: if lit == Literal::Null { None } else { Some(ty) },
        expr: Expr::Lit(lit),
    })
}

fn numeric(t: Option<ColumnType>, text: &str) -> Result<Option<ColumnType>> {
    match t {
        None | Some(ColumnType::Int64 | ColumnType::Decimal { .. } | ColumnType::Float64) => Ok(t),
        Some(ty) => Err(PlanError::Type(format!(
            "{text}: a number is needed, not a {ty}"
        ))),
    }
}

fn boolean(t: Option<ColumnType>, text: &str) -> Result<()> {
    match t {
        None | Some(ColumnType::Bool) => Ok(()),
        Some(ty) => Err(PlanError::Type(format!(
            "{text}: a condition is needed, not a {ty}"
        ))),
    }
}

/// The result type of `+ - * %` (numbers already checked).
fn arithmetic(
    op: BinOp,
    l: Option<ColumnType>,
    r: Option<ColumnType>,
    text: &str,
) -> Result<Option<ColumnType>> {
    use ColumnType::*;
    let (Some(l), Some(r)) = (l, r) else {
        return Ok(l.or(r));
    };
    Ok(Some(match (l, r) {
        (Float64, _) | (_, Float64) => Float64,
        (Int64, Int64) => Int64,
        (Decimal { scale: a }, Decimal { scale: b }) if op == BinOp::Mul => {
            let s = a + b;
            if s > ColumnType::MAX_SCALE {
                return Err(PlanError::Type(format!(
                    "{text}: the product has {s} digits after the point (at most {}); CAST a \
                     side to double",
                    ColumnType::MAX_SCALE
                )));
            }
            Decimal { scale: s }
        }
        (Decimal { scale: a }, Decimal { scale: b }) => Decimal { scale: a.max(b) },
        (Decimal { scale }, Int64) | (Int64, Decimal { scale }) => Decimal { scale },
        _ => unreachable!("numbers"),
    }))
}

/// The common type of two values that meet (CASE branches, COALESCE arguments).
fn unify(a: Option<ColumnType>, b: Option<ColumnType>, text: &str) -> Result<Option<ColumnType>> {
    match (a, b) {
        (None, x) | (x, None) => Ok(x),
        (Some(x), Some(y)) if x == y => Ok(Some(x)),
        (Some(x), Some(y)) => match comparable(Some(x), Some(y)) {
            Some(t) => Ok(t),
            None => Err(PlanError::Type(format!("{text}: {x} and {y} do not mix"))),
        },
    }
}

/// The type two values compare as, if they can be compared.
fn comparable(a: Option<ColumnType>, b: Option<ColumnType>) -> Option<Option<ColumnType>> {
    use ColumnType::*;
    match (a, b) {
        (None, x) | (x, None) => Some(x),
        (Some(x), Some(y)) if x == y => Some(Some(x)),
        (Some(Float64), Some(Int64 | Decimal { .. }))
        | (Some(Int64 | Decimal { .. }), Some(Float64)) => Some(Some(Float64)),
        (Some(Decimal { scale: a }), Some(Decimal { scale: b })) => {
            Some(Some(Decimal { scale: a.max(b) }))
        }
        (Some(Decimal { scale }), Some(Int64)) | (Some(Int64), Some(Decimal { scale })) => {
            Some(Some(Decimal { scale }))
        }
        (Some(Date), Some(Timestamp { zone: false }))
        | (Some(Timestamp { zone: false }), Some(Date)) => Some(Some(Timestamp { zone: false })),
        _ => None,
    }
}

fn compare_types(a: Option<ColumnType>, b: Option<ColumnType>, text: &str) -> Result<()> {
    match comparable(a, b) {
        Some(_) => Ok(()),
        None => Err(PlanError::Type(format!(
            "{text}: a {} cannot be compared with a {}",
            a.map_or("NULL".into(), |t| t.to_string()),
            b.map_or("NULL".into(), |t| t.to_string())
        ))),
    }
}
