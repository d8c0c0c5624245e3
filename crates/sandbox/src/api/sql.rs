//! The `where` clauses a feature layer's `query` takes, the SQL-92 subset clients send:
//! comparisons (`=`, `<>`, `!=`, `<`, `<=`, `>`, `>=`) of a field with a number or a quoted
//! string, `LIKE` with `%` and `_`, `IS [NOT] NULL`, `[NOT] IN (…)`, `[NOT] BETWEEN … AND …`,
//! `AND`, `OR`, `NOT` and parentheses, `DATE '…'` and `TIMESTAMP '…'` literals, and constant
//! comparisons such as `1=1`. Field names and
//! keywords are case-insensitive; strings compare case-insensitively, as hosted layers are believed
//! to (not confirmed). Anything else is refused with the position it stopped at.

use serde_json::{Map, Value};

/// A parsed `where` clause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, Op, Operand),
    Like(Operand, String),
    IsNull(Operand),
    In(Operand, Vec<Operand>),
    Between(Operand, Operand, Operand),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Field(String),
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(f64),
    Text(String),
    Symbol(&'static str),
}

fn tokens(sql: &str) -> Result<Vec<(usize, Token)>, String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("a string opened at {start} is not closed")),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        text.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        text.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push((start, Token::Text(text)));
        } else if c.is_ascii_digit()
            || (c == '-'
                && chars.get(i + 1).is_some_and(char::is_ascii_digit)
                && !matches!(
                    out.last(),
                    Some((_, Token::Number(_) | Token::Word(_) | Token::Text(_)))
                ))
            || c == '.'
        {
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == 'e'
                    || chars[i] == 'E')
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .parse::<f64>()
                .map_err(|_| format!("`{text}` at {start} is not a number"))?;
            out.push((start, Token::Number(n)));
        } else if c.is_alphabetic() || c == '_' || c == '"' {
            let quoted = c == '"';
            if quoted {
                i += 1;
            }
            let begin = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            let word: String = chars[begin..i].iter().collect();
            if quoted {
                if chars.get(i) != Some(&'"') {
                    return Err(format!("a quoted name opened at {start} is not closed"));
                }
                i += 1;
            }
            out.push((start, Token::Word(word)));
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let symbol = ["<>", "!=", "<=", ">="]
                .into_iter()
                .find(|s| *s == two)
                .or_else(|| {
                    ["=", "<", ">", "(", ")", ","]
                        .into_iter()
                        .find(|s| s.starts_with(c))
                })
                .ok_or_else(|| format!("unexpected `{c}` at {start}"))?;
            i += symbol.len();
            out.push((start, Token::Symbol(symbol)));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn here(&self) -> usize {
        self.tokens.get(self.at).map_or(self.len, |(p, _)| *p)
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word)) {
            self.at += 1;
            return true;
        }
        false
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        if self.peek()
            == Some(&Token::Symbol(match symbol {
                "(" => "(",
                ")" => ")",
                "," => ",",
                _ => return false,
            }))
        {
            self.at += 1;
            return true;
        }
        false
    }

    fn expected(&self, what: &str) -> String {
        format!("expected {what} at {}", self.here())
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        if self.symbol("(") {
            let inner = self.or()?;
            if !self.symbol(")") {
                return Err(self.expected("`)`"));
            }
            return Ok(inner);
        }
        self.predicate()
    }

    fn operand(&mut self) -> Result<Operand, String> {
        // `DATE 'yyyy-mm-dd'` and `TIMESTAMP 'yyyy-mm-dd hh:mm:ss'`: epoch milliseconds, as date
        // attributes are answered.
        if let (Some(Token::Word(w)), Some((_, Token::Text(t)))) =
            (self.peek(), self.tokens.get(self.at + 1))
            && (w.eq_ignore_ascii_case("date") || w.eq_ignore_ascii_case("timestamp"))
        {
            let ms =
                epoch_ms(t).ok_or_else(|| format!("`{t}` at {} is not a date", self.here()))?;
            self.at += 2;
            return Ok(Operand::Number(ms));
        }
        let operand = match self.peek() {
            Some(Token::Word(w))
                if !["and", "or", "not", "like", "in", "is", "between", "null"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                Operand::Field(w.clone())
            }
            Some(Token::Number(n)) => Operand::Number(*n),
            Some(Token::Text(t)) => Operand::Text(t.clone()),
            _ => return Err(self.expected("a field, a number or a string")),
        };
        self.at += 1;
        Ok(operand)
    }

    fn predicate(&mut self) -> Result<Expr, String> {
        let left = self.operand()?;
        let negated = self.keyword("not");
        let expr = if self.keyword("like") {
            match self.peek().cloned() {
                Some(Token::Text(pattern)) => {
                    self.at += 1;
                    Expr::Like(left, pattern)
                }
                _ => return Err(self.expected("a quoted pattern")),
            }
        } else if self.keyword("in") {
            if !self.symbol("(") {
                return Err(self.expected("`(`"));
            }
            let mut list = vec![self.operand()?];
            while self.symbol(",") {
                list.push(self.operand()?);
            }
            if !self.symbol(")") {
                return Err(self.expected("`)`"));
            }
            Expr::In(left, list)
        } else if self.keyword("between") {
            let low = self.operand()?;
            if !self.keyword("and") {
                return Err(self.expected("AND"));
            }
            Expr::Between(left, low, self.operand()?)
        } else if !negated && self.keyword("is") {
            let not = self.keyword("not");
            if !self.keyword("null") {
                return Err(self.expected("NULL"));
            }
            let e = Expr::IsNull(left);
            return Ok(if not { Expr::Not(Box::new(e)) } else { e });
        } else if negated {
            return Err(self.expected("LIKE, IN or BETWEEN after NOT"));
        } else {
            let op = match self.peek() {
                Some(Token::Symbol("=")) => Op::Eq,
                Some(Token::Symbol("<>" | "!=")) => Op::Ne,
                Some(Token::Symbol("<")) => Op::Lt,
                Some(Token::Symbol("<=")) => Op::Le,
                Some(Token::Symbol(">")) => Op::Gt,
                Some(Token::Symbol(">=")) => Op::Ge,
                _ => return Err(self.expected("a comparison")),
            };
            self.at += 1;
            Expr::Compare(left, op, self.operand()?)
        };
        Ok(if negated {
            Expr::Not(Box::new(expr))
        } else {
            expr
        })
    }
}

/// `yyyy-mm-dd` with an optional ` hh:mm[:ss]` (UTC) as epoch milliseconds.
#[allow(clippy::cast_precision_loss)] // day and second counts far below 2^53
fn epoch_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    let (date, time) = text.split_once([' ', 'T']).unwrap_or((text, ""));
    let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut clock = time
        .split(':')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<f64>().ok());
    let (h, min, sec) = (
        clock.next().flatten().unwrap_or(0.0),
        clock.next().flatten().unwrap_or(0.0),
        clock.next().flatten().unwrap_or(0.0),
    );
    let (yy, mm) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let days =
        era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + (153 * mm + 2) / 5 + day - 1 - 719_468;
    Some(days as f64 * 86_400_000.0 + ((h * 60.0 + min) * 60.0 + sec) * 1000.0)
}

/// Parse a `where` clause; an empty one matches everything.
pub(crate) fn parse(sql: &str) -> Result<Option<Expr>, String> {
    if sql.trim().is_empty() {
        return Ok(None);
    }
    let mut p = Parser {
        tokens: tokens(sql)?,
        at: 0,
        len: sql.chars().count(),
    };
    let expr = p.or()?;
    if p.at < p.tokens.len() {
        return Err(format!("unexpected text at {}", p.here()));
    }
    Ok(Some(expr))
}

/// A value to compare: a number, a string, or null.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Number(f64),
    Text(String),
}

fn value(operand: &Operand, attributes: &Map<String, Value>) -> Val {
    match operand {
        Operand::Number(n) => Val::Number(*n),
        Operand::Text(t) => Val::Text(t.clone()),
        Operand::Field(name) => match attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
        {
            None | Some(Value::Null) => Val::Null,
            Some(Value::Number(n)) => n.as_f64().map_or(Val::Null, Val::Number),
            Some(Value::String(s)) => Val::Text(s.clone()),
            Some(Value::Bool(b)) => Val::Number(f64::from(u8::from(*b))),
            Some(other) => Val::Text(other.to_string()),
        },
    }
}

/// Compare two values as SQL does: numbers numerically (a numeric string against a number too),
/// strings case-insensitively; `None` when either is null.
fn order(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Number(x), Val::Number(y)) => x.partial_cmp(y),
        (Val::Number(x), Val::Text(t)) => {
            t.trim().parse::<f64>().ok().and_then(|y| x.partial_cmp(&y))
        }
        (Val::Text(t), Val::Number(y)) => {
            t.trim().parse::<f64>().ok().and_then(|x| x.partial_cmp(y))
        }
        (Val::Text(x), Val::Text(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
    }
}

fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    // Iterative matching with backtracking on the last `%`.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// The field names a clause uses, in order of appearance.
pub(crate) fn fields(expr: &Expr) -> Vec<&str> {
    fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
        let operand = |o: &'a Operand, out: &mut Vec<&'a str>| {
            if let Operand::Field(f) = o {
                out.push(f);
            }
        };
        match e {
            Expr::And(l, r) | Expr::Or(l, r) => {
                walk(l, out);
                walk(r, out);
            }
            Expr::Not(e) => walk(e, out),
            Expr::Compare(l, _, r) => {
                operand(l, out);
                operand(r, out);
            }
            Expr::Like(l, _) | Expr::IsNull(l) => operand(l, out),
            Expr::In(l, list) => {
                operand(l, out);
                for o in list {
                    operand(o, out);
                }
            }
            Expr::Between(l, low, high) => {
                operand(l, out);
                operand(low, out);
                operand(high, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(expr, &mut out);
    out
}

/// Whether a feature's attributes satisfy the clause (SQL's unknown counts as false).
pub(crate) fn matches(expr: &Expr, attributes: &Map<String, Value>) -> bool {
    eval(expr, attributes).unwrap_or(false)
}

fn eval(expr: &Expr, a: &Map<String, Value>) -> Option<bool> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match expr {
        Expr::And(l, r) => match (eval(l, a), eval(r, a)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Expr::Or(l, r) => match (eval(l, a), eval(r, a)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Expr::Not(e) => eval(e, a).map(|b| !b),
        Expr::Compare(l, op, r) => {
            let o = order(&value(l, a), &value(r, a))?;
            Some(match op {
                Op::Eq => o == Equal,
                Op::Ne => o != Equal,
                Op::Lt => o == Less,
                Op::Le => o != Greater,
                Op::Gt => o == Greater,
                Op::Ge => o != Less,
            })
        }
        Expr::Like(l, pattern) => match value(l, a) {
            Val::Null => None,
            Val::Number(n) => Some(like(&n.to_string(), pattern)),
            Val::Text(t) => Some(like(&t, pattern)),
        },
        Expr::IsNull(l) => Some(value(l, a) == Val::Null),
        Expr::In(l, list) => {
            let v = value(l, a);
            if v == Val::Null {
                return None;
            }
            Some(list.iter().any(|o| order(&v, &value(o, a)) == Some(Equal)))
        }
        Expr::Between(l, low, high) => {
            let v = value(l, a);
            Some(order(&v, &value(low, a))? != Less && order(&v, &value(high, a))? != Greater)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row() -> Map<String, Value> {
        json!({"OBJECTID": 7, "status": "Repair", "flow_gpm": 750, "note": null, "code": "0042",
            "opened": 1_588_291_200_000_i64})
        .as_object()
        .unwrap()
        .clone()
    }

    fn check(sql: &str) -> bool {
        matches(&parse(sql).unwrap().unwrap(), &row())
    }

    #[test]
    fn the_clauses_clients_send() {
        for (sql, expected) in [
            ("1=1", true),
            ("1 = 0", false),
            ("status = 'repair'", true),
            ("STATUS <> 'ok'", true),
            ("flow_gpm >= 750 AND flow_gpm < 800", true),
            ("flow_gpm > 750 OR status = 'ok'", false),
            ("NOT (flow_gpm > 750)", true),
            ("status LIKE 'Re%'", true),
            ("status LIKE '_epai_'", true),
            ("status NOT LIKE '%ok%'", true),
            ("note IS NULL", true),
            ("note IS NOT NULL", false),
            ("OBJECTID IN (1, 7, 9)", true),
            ("OBJECTID NOT IN (1, 2)", true),
            ("status IN ('ok', 'retired')", false),
            ("flow_gpm BETWEEN 500 AND 750", true),
            ("code = 42", true),
            ("note = 'x'", false),
            ("NOT note = 'x'", false),
            ("\"flow_gpm\" = 750", true),
            ("OBJECTID > -1", true),
            ("status = 'it''s'", false),
            (
                "opened >= DATE '2020-05-01' AND opened < date '2020-05-02'",
                true,
            ),
            ("opened = TIMESTAMP '2020-05-01 00:00:00'", true),
            ("opened > timestamp '2020-05-01 00:00:01'", false),
        ] {
            assert_eq!(check(sql), expected, "{sql}");
        }
        assert_eq!(parse("  ").unwrap(), None);
    }

    #[test]
    fn what_is_not_understood_is_refused_with_where() {
        for (sql, says) in [
            ("status = 'open", "not closed"),
            ("status = ", "expected a field"),
            ("status ~ 'x'", "unexpected `~`"),
            ("(status = 'x'", "expected `)`"),
            ("status = 'x' extra", "unexpected text"),
            ("status IS 'x'", "expected NULL"),
            ("opened > DATE '2020-13-01'", "not a date"),
        ] {
            let e = parse(sql).unwrap_err();
            assert!(e.contains(says), "{sql}: {e}");
        }
    }
}
