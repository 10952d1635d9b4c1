//! The expressions webpack's and Rspack's chunk-name functions are made of, read and
//! evaluated: string concatenation, object maps indexed by the chunk id, `id===e?…:…`
//! and string literals. What is not understood yields nothing.

/// The names a chunk-name function gives, `None` when it is not understood.
pub(super) fn chunk_names(function: &str, extension: &str) -> Option<Vec<String>> {
    let mut p = Parser::new(function);
    let param = p.function_head()?;
    let body = p.expr(0)?;
    let mut ids = Vec::new();
    body.ids(&mut ids);
    if ids.is_empty() && body.uses(&param) {
        // `e=>e+".abc.css"`: which chunks have a file is decided elsewhere.
        return None;
    }
    if ids.is_empty() {
        ids.push(Value::Undefined);
    }
    let mut names = Vec::new();
    for id in &ids {
        match body.eval(&param, id)? {
            Value::Str(name) if name.ends_with(extension) && !name.contains("undefined") => {
                names.push(name);
            }
            _ => {}
        }
    }
    Some(names)
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Num(String),
    Undefined,
    Bool(bool),
}

impl Value {
    /// A number literal whose leading zeros were all trimmed is `0`.
    fn normalized(self) -> Self {
        match self {
            Self::Num(n) if n.is_empty() => Self::Num("0".to_owned()),
            v => v,
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Str(s) | Self::Num(s) => s.clone(),
            Self::Undefined => "undefined".to_owned(),
            Self::Bool(b) => b.to_string(),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Self::Str(s) => !s.is_empty(),
            Self::Num(n) => n != "0",
            Self::Undefined => false,
            Self::Bool(b) => *b,
        }
    }
}

#[derive(Debug, Clone)]
enum Expr {
    Lit(Value),
    Param(String),
    /// An object literal (only meaningful indexed).
    Object(Vec<(Value, Expr)>),
    Index(Box<Expr>, Box<Expr>),
    Concat(Vec<Expr>),
    Equals(Box<Expr>, Box<Expr>, bool),
    Choose(Box<Expr>, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Every chunk id the expression names: map keys and compared literals.
    fn ids(&self, out: &mut Vec<Value>) {
        match self {
            Self::Lit(_) | Self::Param(_) => {}
            Self::Object(entries) => {
                for (key, value) in entries {
                    if !out.contains(key) {
                        out.push(key.clone());
                    }
                    value.ids(out);
                }
            }
            Self::Index(target, index) => {
                target.ids(out);
                index.ids(out);
            }
            Self::Concat(parts) => parts.iter().for_each(|p| p.ids(out)),
            Self::Equals(a, b, _) => {
                for side in [a, b] {
                    if let Self::Lit(v) = side.as_ref()
                        && !out.contains(v)
                    {
                        out.push(v.clone());
                    }
                    side.ids(out);
                }
            }
            Self::Choose(c, a, b) => [c, a, b].iter().for_each(|e| e.ids(out)),
        }
    }

    fn uses(&self, param: &str) -> bool {
        match self {
            Self::Lit(_) => false,
            Self::Param(p) => p == param,
            Self::Object(entries) => entries.iter().any(|(_, v)| v.uses(param)),
            Self::Index(target, index) => target.uses(param) || index.uses(param),
            Self::Concat(parts) => parts.iter().any(|p| p.uses(param)),
            Self::Equals(a, b, _) => a.uses(param) || b.uses(param),
            Self::Choose(c, a, b) => c.uses(param) || a.uses(param) || b.uses(param),
        }
    }

    fn eval(&self, param: &str, id: &Value) -> Option<Value> {
        Some(match self {
            Self::Lit(v) => v.clone(),
            Self::Param(p) if p == param => id.clone(),
            Self::Param(_) => return None,
            Self::Object(_) => return None,
            Self::Index(target, index) => {
                let Self::Object(entries) = target.as_ref() else {
                    return None;
                };
                let key = index.eval(param, id)?.text();
                entries
                    .iter()
                    .find(|(k, _)| k.text() == key)
                    .map_or(Some(Value::Undefined), |(_, v)| v.eval(param, id))?
            }
            Self::Concat(parts) => {
                let mut text = String::new();
                for part in parts {
                    text.push_str(&part.eval(param, id)?.text());
                }
                Value::Str(text)
            }
            Self::Equals(a, b, strict) => {
                let (a, b) = (a.eval(param, id)?, b.eval(param, id)?);
                let same = if *strict {
                    a == b
                } else {
                    a.text() == b.text()
                };
                Value::Bool(same)
            }
            Self::Choose(c, a, b) => {
                if c.eval(param, id)?.truthy() {
                    a.eval(param, id)?
                } else {
                    b.eval(param, id)?
                }
            }
        })
    }
}

/// A recursive-descent reader of the expressions chunk-name functions are made of.
struct Parser<'a> {
    rest: &'a str,
}

/// Nesting deeper than this is not a chunk-name function.
const MAX_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self { rest: text }
    }

    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.skip_space();
        let len = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(self.rest.len());
        if len == 0 || self.rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let (name, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(name.to_owned())
    }

    /// `e=>`, `(e)=>`, `function(e){return`, `e=>{return`: the parameter's name.
    fn function_head(&mut self) -> Option<String> {
        let param = if self.eat("function") {
            self.ident();
            self.eat("(").then_some(())?;
            let p = self.ident()?;
            self.eat(")").then_some(())?;
            self.eat("{").then_some(())?;
            self.eat("return").then_some(())?;
            return Some(p);
        } else if self.eat("(") {
            let p = self.ident()?;
            self.eat(")").then_some(())?;
            p
        } else {
            self.ident()?
        };
        self.eat("=>").then_some(())?;
        if self.eat("{") {
            self.eat("return").then_some(())?;
        }
        Some(param)
    }

    /// `cond ? a : b` (lowest precedence).
    fn expr(&mut self, depth: usize) -> Option<Expr> {
        if depth > MAX_DEPTH {
            return None;
        }
        let condition = self.equality(depth)?;
        if self.eat("?") {
            let a = self.expr(depth + 1)?;
            self.eat(":").then_some(())?;
            let b = self.expr(depth + 1)?;
            return Some(Expr::Choose(Box::new(condition), Box::new(a), Box::new(b)));
        }
        Some(condition)
    }

    fn equality(&mut self, depth: usize) -> Option<Expr> {
        let left = self.concat(depth)?;
        for (token, strict) in [("===", true), ("==", false)] {
            if self.eat(token) {
                let right = self.concat(depth)?;
                return Some(Expr::Equals(Box::new(left), Box::new(right), strict));
            }
        }
        Some(left)
    }

    fn concat(&mut self, depth: usize) -> Option<Expr> {
        let mut parts = vec![self.indexed(depth)?];
        while self.eat("+") {
            parts.push(self.indexed(depth)?);
        }
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Concat(parts)
        })
    }

    /// A primary, indexed (`{…}[e]`, `({…})[e]`) any number of times.
    fn indexed(&mut self, depth: usize) -> Option<Expr> {
        let mut target = self.primary(depth)?;
        while self.eat("[") {
            let index = self.expr(depth + 1)?;
            self.eat("]").then_some(())?;
            target = Expr::Index(Box::new(target), Box::new(index));
        }
        Some(target)
    }

    fn primary(&mut self, depth: usize) -> Option<Expr> {
        self.skip_space();
        if self.rest.starts_with('{') {
            return self.map(depth).map(Expr::Object);
        }
        if self.eat("(") {
            let inner = self.expr(depth + 1)?;
            self.eat(")").then_some(())?;
            return Some(inner);
        }
        if let Some(value) = self.literal() {
            return Some(Expr::Lit(value));
        }
        if self.eat("void 0") {
            return Some(Expr::Lit(Value::Undefined));
        }
        self.ident().map(Expr::Param)
    }

    fn literal(&mut self) -> Option<Value> {
        self.skip_space();
        if let Some((text, rest)) = string_literal(self.rest) {
            self.rest = rest;
            return Some(Value::Str(text));
        }
        let len = self
            .rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        if len == 0 {
            return None;
        }
        let (digits, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(Value::Num(digits.trim_start_matches('0').to_owned()).normalized())
    }

    /// `{"a":"x",12:"y",b:"z"}`: keys and value expressions.
    fn map(&mut self, depth: usize) -> Option<Vec<(Value, Expr)>> {
        self.eat("{").then_some(())?;
        let mut entries = Vec::new();
        if self.eat("}") {
            return Some(entries);
        }
        loop {
            let key = match self.literal() {
                Some(Value::Str(s)) => key_value(s),
                Some(v) => v,
                None => key_value(self.ident()?),
            };
            self.eat(":").then_some(())?;
            entries.push((key, self.expr(depth + 1)?));
            if self.eat("}") {
                return Some(entries);
            }
            self.eat(",").then_some(())?;
        }
    }
}

/// An object key: JavaScript makes `{"12":…}` and `{12:…}` the same key.
fn key_value(text: String) -> Value {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0')
        || text == "0"
    {
        Value::Num(text)
    } else {
        Value::Str(text)
    }
}

/// A `"…"` or `'…'` literal at the start of `text` (simple escapes only), and the
/// text after it.
pub(super) fn string_literal(text: &str) -> Option<(String, &str)> {
    let quote = text.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let mut out = String::new();
    let mut chars = text[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Some((out, &text[1 + i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' | 'r' | 't' | 'u' | 'x' => return None,
                escaped => out.push(escaped),
            },
            '\n' => return None,
            c => out.push(c),
        }
    }
    None
}
