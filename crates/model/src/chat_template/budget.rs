//! The memory budget of a render: a hostile template must not build values without bound
//! (a string doubled in a loop through a namespace or a recursive macro reaches 2^95
//! bytes in a few hundred steps, far inside the step budget). minijinja has no hook for
//! it, so the template is rewritten once, when it is parsed: every value it computes (a
//! `~`, `+` or `*`, a call, a filter, a list or map literal, a `{% set %}` block's capture)
//! goes through `__hearth_charge`, which charges the value's size to the render's budget
//! and fails the render once it is spent. The filters and Python methods whose result can
//! be far larger than their arguments (`join`, `replace`, `indent`, `format`) are checked
//! before they run. So every value a render holds was charged when it was made, and
//! what a render allocates is bounded by its budget plus one value made before its charge
//! (at most twice the budget for `~`/`+`; minijinja bounds `'x' * n` at 100 MB itself).

use std::cell::Cell;

use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};
use minijinja::machinery::{Span, WhitespaceConfig, parse};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Rest, StringInput, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

/// The name of the charging function and filter in rewritten templates.
pub const CHARGE: &str = "__hearth_charge";

thread_local! {
    /// Bytes the render running on this thread may still make (none: not rendering).
    static LEFT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The error of a spent budget (its source, for telling it from others).
#[derive(Debug)]
pub struct OverBudget;

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the template's values are over the render's memory budget")
    }
}

impl std::error::Error for OverBudget {}

/// Runs `f` with `bytes` of budget on this thread (the render); the budget ends with it.
pub fn with_budget<T>(bytes: u64, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<u64>);
    impl Drop for Reset {
        fn drop(&mut self) {
            LEFT.with(|l| l.set(self.0));
        }
    }
    let _reset = Reset(LEFT.with(|l| l.replace(Some(bytes))));
    f()
}

/// The error of a render whose budget is spent.
fn over_budget() -> Error {
    Error::new(ErrorKind::InvalidOperation, OverBudget.to_string()).with_source(OverBudget)
}

/// Charges `bytes`, or fails when the budget is spent.
fn spend(bytes: u64) -> Result<(), Error> {
    fits(bytes)?;
    LEFT.with(|l| l.set(l.get().map(|left| left - bytes)));
    Ok(())
}

/// The bytes a value is charged: a string's bytes, 16 a sequence item or map entry (what
/// it holds was charged when it was made; a lazy `[x] * n` is charged all its items).
fn size(v: &Value) -> u64 {
    match v.kind() {
        ValueKind::String => v.as_str().map_or(0, |s| s.len() as u64),
        ValueKind::Bytes => v.as_bytes().map_or(0, |b| b.len() as u64),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
            (v.len().unwrap_or(0) as u64).saturating_mul(16)
        }
        _ => 0,
    }
}

/// `__hearth_charge(value)`: the value, charged.
fn charge(value: Value) -> Result<Value, Error> {
    spend(size(&value))?;
    Ok(value)
}

/// Fails unless `bytes` more fit the budget, without charging them (a pre-check).
fn fits(bytes: u64) -> Result<(), Error> {
    LEFT.with(|l| match l.get() {
        Some(left) if bytes > left => {
            l.set(Some(0));
            Err(over_budget())
        }
        _ => Ok(()),
    })
}

/// The most bytes `join` can make of `items` with `joiner`, checked as it adds up.
fn join_bound(items: &Value, joiner: usize) -> Result<(), Error> {
    let n = items.len().unwrap_or(0) as u64;
    fits(n.saturating_mul(joiner as u64 + 16))?;
    let mut total = n.saturating_mul(joiner as u64);
    if let Ok(iter) = items.try_iter() {
        for item in iter {
            total = total.saturating_add(item.as_str().map_or(24, |s| s.len() as u64));
            fits(total)?;
        }
    }
    Ok(())
}

/// The most bytes replacing `from` by `to` in `s` can make.
fn replace_bound(s: usize, from: usize, to: usize) -> Result<(), Error> {
    let times = s.checked_div(from).unwrap_or(s + 1);
    fits((s as u64).saturating_add((times as u64).saturating_mul(to as u64)))
}

/// A format string's widths and precisions stay under a million (`%999999999s` makes a
/// gigabyte of padding from nothing).
fn format_bound(spec: &str) -> Result<(), Error> {
    let mut run = 0;
    for c in spec.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run > 6 {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "a format width or precision of a million or more",
            )
            .with_source(OverBudget));
        }
    }
    Ok(())
}

/// Adds the charging function and the checked filters and methods to `env`.
pub fn install(env: &mut Environment<'static>) {
    env.add_function(CHARGE, charge);
    env.add_filter(CHARGE, charge);
    env.add_filter(
        "join",
        |state: &State, value: &Value, joiner: Option<StringInput>| {
            join_bound(value, joiner.as_ref().map_or(0, |j| j.as_str().len()))?;
            minijinja::filters::join(state, value, joiner)
        },
    );
    env.add_filter(
        "replace",
        |state: &State, value: StringInput, from: StringInput, to: StringInput| {
            replace_bound(value.as_str().len(), from.as_str().len(), to.as_str().len())?;
            minijinja::filters::replace(state, value, from, to)
        },
    );
    env.add_filter(
        "indent",
        |value: StringInput,
         width: Option<usize>,
         first: Option<bool>,
         blank: Option<bool>,
         kwargs: Kwargs| {
            let w = width.or(kwargs.peek::<usize>("width").ok()).unwrap_or(4);
            let s = value.as_str();
            let lines = s.bytes().filter(|&b| b == b'\n').count() + 1;
            fits((s.len() as u64).saturating_add((lines as u64).saturating_mul(w as u64)))?;
            minijinja::filters::indent(value, width, first, blank, kwargs)
        },
    );
    env.add_filter(
        "format",
        |state: &State, spec: &Value, args: Rest<Value>| {
            format_bound(spec.as_str().unwrap_or_default())?;
            minijinja::filters::format(state, spec, args)
        },
    );
    env.set_unknown_method_callback(method);
}

/// Python's string and dict methods (minijinja-contrib's pycompat), the amplifying ones
/// checked first and every result charged.
fn method(state: &State, value: &Value, name: &str, args: &[Value]) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        match (name, args) {
            ("replace", [from, to, ..]) => replace_bound(
                s.len(),
                from.as_str().map_or(0, str::len),
                to.as_str().map_or(0, str::len),
            )?,
            ("join", [items, ..]) => join_bound(items, s.len())?,
            ("format", _) => format_bound(s)?,
            _ => {}
        }
    }
    charge(minijinja_contrib::pycompat::unknown_method_callback(
        state, value, name, args,
    )?)
}

/// `source` with every computed value charged (see the module's doc); a template that does
/// not parse is given back as it is, for minijinja to report its error.
pub fn charged(source: &str) -> String {
    let Ok(ast) = parse(source, "t", SyntaxConfig, WhitespaceConfig::default()) else {
        return source.to_string();
    };
    let mut edits = Edits {
        source,
        at: Vec::new(),
    };
    edits.stmt(&ast);
    edits.apply()
}

/// Where to insert text into `source`: `(offset, closing before opening, order among
/// those, text)`.
struct Edits<'s> {
    source: &'s str,
    at: Vec<(usize, u8, i64, &'static str)>,
}

impl Edits<'_> {
    /// `CHARGE(` … `)` around a node whose span is all of it (an operator, a literal). At
    /// one offset, closings come before openings; the outer node opens first and closes
    /// last.
    fn wrap(&mut self, span: Span) {
        let (start, end) = (span.start_offset as usize, span.end_offset as usize);
        if start >= end {
            return;
        }
        let len = (end - start) as i64;
        self.at.push((start, 1, -len, "__hearth_charge("));
        self.at.push((end, 0, len, ")"));
    }

    /// ` | CHARGE` after a postfix node (a call, a filter, a subscript), whose span is
    /// only its last part: a filter binds tighter than any operator, looser than a
    /// postfix, so where another postfix follows, the outer one is charged instead.
    fn append(&mut self, span: Span) {
        let end = span.end_offset as usize;
        let next = self
            .source
            .get(end..)
            .and_then(|r| r.trim_start().chars().next());
        if !matches!(next, Some('.' | '[' | '(')) {
            self.at.push((end, 0, i64::MIN, " | __hearth_charge"));
        }
    }

    fn apply(mut self) -> String {
        let source = self.source;
        self.at
            .sort_by_key(|&(at, kind, order, _)| (at, kind, order));
        let mut out = String::with_capacity(source.len() + self.at.len() * 18);
        let mut at = 0;
        for (pos, _, _, text) in self.at {
            if pos > source.len() || !source.is_char_boundary(pos) || pos < at {
                continue;
            }
            out.push_str(&source[at..pos]);
            out.push_str(text);
            at = pos;
        }
        out.push_str(&source[at..]);
        out
    }

    fn stmts(&mut self, body: &[Stmt]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr),
            Stmt::EmitRaw(_) | Stmt::Continue(_) | Stmt::Break(_) => {}
            Stmt::ForLoop(f) => {
                self.expr(&f.iter);
                if let Some(e) = &f.filter_expr {
                    self.expr(e);
                }
                self.stmts(&f.body);
                self.stmts(&f.else_body);
            }
            Stmt::IfCond(i) => {
                self.expr(&i.expr);
                self.stmts(&i.true_body);
                self.stmts(&i.false_body);
            }
            Stmt::WithBlock(w) => {
                for (_, e) in &w.assignments {
                    self.expr(e);
                }
                self.stmts(&w.body);
            }
            Stmt::Set(set) => self.expr(&set.expr),
            Stmt::SetBlock(set) => {
                // the capture, charged: `{% set x | CHARGE %}`
                let after = set.filter.as_ref().map_or(set.target.span(), |f| f.span());
                self.at
                    .push((after.end_offset as usize, 0, i64::MIN, " | __hearth_charge"));
                if let Some(f) = &set.filter {
                    self.filter_args(f);
                }
                self.stmts(&set.body);
            }
            Stmt::AutoEscape(a) => self.stmts(&a.body),
            Stmt::FilterBlock(f) => {
                self.filter_args(&f.filter);
                self.stmts(&f.body);
            }
            Stmt::Block(b) => self.stmts(&b.body),
            Stmt::Macro(m) => {
                for d in &m.defaults {
                    self.expr(d);
                }
                self.stmts(&m.body);
            }
            Stmt::CallBlock(c) => {
                // the call itself stays a call (`{% call f() %}`); its parts are charged
                self.expr(&c.call.expr);
                self.args(&c.call.args);
                self.stmts(&c.macro_decl.body);
            }
            Stmt::Do(d) => {
                self.expr(&d.call.expr);
                self.args(&d.call.args);
            }
            Stmt::Extends(_) | Stmt::Include(_) | Stmt::Import(_) | Stmt::FromImport(_) => {}
        }
    }

    /// The arguments of a filter chain with no input (a block's filter): not wrapped
    /// itself (it is not an expression there).
    fn filter_args(&mut self, e: &Expr) {
        if let Expr::Filter(f) = e {
            if let Some(inner) = &f.expr {
                self.filter_args(inner);
            }
            self.args(&f.args);
        } else {
            self.expr(e);
        }
    }

    fn args(&mut self, args: &[CallArg]) {
        for a in args {
            match a {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => self.expr(e),
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Var(_) | Expr::Const(_) => {}
            Expr::Slice(s) => {
                self.expr(&s.expr);
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(part);
                }
                self.append(s.span());
            }
            Expr::UnaryOp(u) => self.expr(&u.expr),
            Expr::BinOp(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
                if matches!(
                    b.op,
                    ast::BinOpKind::Concat | ast::BinOpKind::Add | ast::BinOpKind::Mul
                ) {
                    self.wrap(b.span());
                }
            }
            Expr::Compare(c) => {
                self.expr(&c.expr);
                for op in &c.ops {
                    self.expr(&op.expr);
                }
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                self.expr(&i.true_expr);
                if let Some(f) = &i.false_expr {
                    self.expr(f);
                }
            }
            Expr::Filter(f) => match &f.expr {
                Some(inner) => {
                    self.expr(inner);
                    self.args(&f.args);
                    self.append(f.span());
                }
                None => self.args(&f.args),
            },
            Expr::Test(t) => {
                self.expr(&t.expr);
                self.args(&t.args);
            }
            Expr::GetAttr(g) => self.expr(&g.expr),
            Expr::GetItem(g) => {
                self.expr(&g.expr);
                self.expr(&g.subscript_expr);
                self.append(g.span());
            }
            Expr::Call(c) => {
                self.expr(&c.expr);
                self.args(&c.args);
                self.append(c.span());
            }
            Expr::List(l) => {
                for i in &l.items {
                    self.expr(i);
                }
                self.wrap(l.span());
            }
            Expr::Map(m) => {
                for (k, v) in m.keys.iter().zip(&m.values) {
                    self.expr(k);
                    self.expr(v);
                }
                self.wrap(m.span());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every computed value is charged, and the rewritten text means what the original did.
    #[test]
    fn rewrites_charge_each_computed_value() {
        for (src, want) in [
            (
                "{{ (a ~ b) ~ c }}",
                "{{ __hearth_charge((__hearth_charge(a ~ b)) ~ c) }}",
            ),
            (
                "{{ x | f(1) | g }}",
                "{{ x | f(1) | __hearth_charge | g | __hearth_charge }}",
            ),
            ("{{ f(a)(b) }}", "{{ f(a)(b) | __hearth_charge }}"),
            (
                "{{ a.b(c) ~ d }}",
                "{{ __hearth_charge(a.b(c) | __hearth_charge ~ d) }}",
            ),
            (
                "{{ a[1:] + b['c'].d }}",
                "{{ __hearth_charge(a[1:] | __hearth_charge + b['c'].d) }}",
            ),
            (
                "{{ [1] + [x] }}",
                "{{ __hearth_charge(__hearth_charge([1]) + __hearth_charge([x])) }}",
            ),
            (
                "{% set y %}b{% endset %}",
                "{% set y | __hearth_charge %}b{% endset %}",
            ),
            (
                "{% call f(g(1)) %}x{% endcall %}",
                "{% call f(g(1) | __hearth_charge) %}x{% endcall %}",
            ),
            (
                "{{ x is f(1) }}{{ a.b }}{% if x == 'é' %}{% endif %}",
                "{{ x is f(1) }}{{ a.b }}{% if x == 'é' %}{% endif %}",
            ),
        ] {
            assert_eq!(charged(src), want, "{src}");
        }
        // what does not parse is left for minijinja to report
        assert_eq!(charged("{{ a ~ }}"), "{{ a ~ }}");
    }
}
