//! A token-level clause splitter: where each clause of a `SELECT` starts
//! and ends in the text.
//!
//! sqlparser's AST spans cover expressions but not the clause keywords, so
//! stage texts (`where …`, `group by …`) come from this splitter. It is
//! also the tolerant reader used when sqlparser cannot parse a query at all.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;

use super::source::Tok;
use crate::diag::Span;

/// A clause of a `SELECT` block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clause {
    /// `SELECT …` (the projection list).
    Select,
    /// `FROM …`, joins included.
    From,
    /// `WHERE …`
    Where,
    /// `GROUP BY …`
    GroupBy,
    /// `HAVING …`
    Having,
    /// `QUALIFY …`
    Qualify,
    /// `WINDOW …`
    Window,
    /// `ORDER BY …`
    OrderBy,
    /// `LIMIT …` / `FETCH …` / `OFFSET …`
    Limit,
}

impl Clause {
    /// The stage kind shown for this clause.
    pub fn kind(self) -> &'static str {
        match self {
            Clause::Select => "select",
            Clause::From => "from",
            Clause::Where => "where",
            Clause::GroupBy => "group by",
            Clause::Having => "having",
            Clause::Qualify => "qualify",
            Clause::Window => "window",
            Clause::OrderBy => "order by",
            Clause::Limit => "limit",
        }
    }
}

/// The keyword of a bare (unquoted) word token.
pub fn keyword(t: &Tok) -> Option<Keyword> {
    match &t.token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    }
}

/// Indices of the non-trivia tokens.
pub fn significant(toks: &[Tok]) -> Vec<usize> {
    (0..toks.len())
        .filter(|&i| !toks[i].is_trivia() && toks[i].token != Token::EOF)
        .collect()
}

/// Splits the `SELECT` block whose `SELECT` keyword starts at byte
/// `start` into clauses, each with its span (keyword to last token).
///
/// The block ends at the first set operator (`UNION`…), `;` or closing
/// parenthesis at its own nesting level, or at the end of the text.
pub fn split(toks: &[Tok], start: usize) -> Vec<(Clause, Span)> {
    let sig = significant(toks);
    let Some(first) = sig.iter().position(|&i| toks[i].span.start >= start) else {
        return Vec::new();
    };
    let mut out: Vec<(Clause, Span)> = Vec::new();
    let mut depth = 0usize;
    let mut k = first;
    while k < sig.len() {
        let t = &toks[sig[k]];
        match t.token {
            Token::LParen | Token::LBracket | Token::LBrace => depth += 1,
            Token::RParen | Token::RBracket | Token::RBrace => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            Token::SemiColon if depth == 0 => break,
            _ => {}
        }
        if depth == 0 {
            let next_kw = sig.get(k + 1).and_then(|&j| keyword(&toks[j]));
            let clause =
                match keyword(t) {
                    Some(
                        Keyword::UNION | Keyword::EXCEPT | Keyword::INTERSECT | Keyword::MINUS,
                    ) if k > first => break,
                    Some(Keyword::SELECT) if k == first => Some(Clause::Select),
                    Some(Keyword::SELECT) if out.is_empty() => Some(Clause::Select),
                    Some(Keyword::FROM) => Some(Clause::From),
                    Some(Keyword::WHERE) => Some(Clause::Where),
                    Some(Keyword::GROUP) if next_kw == Some(Keyword::BY) => Some(Clause::GroupBy),
                    Some(Keyword::HAVING) => Some(Clause::Having),
                    Some(Keyword::QUALIFY) => Some(Clause::Qualify),
                    Some(Keyword::WINDOW) => Some(Clause::Window),
                    Some(Keyword::ORDER) if next_kw == Some(Keyword::BY) => Some(Clause::OrderBy),
                    Some(Keyword::LIMIT | Keyword::FETCH | Keyword::OFFSET) => Some(Clause::Limit),
                    _ => None,
                };
            // A repeated keyword (`limit 5 offset 2`) continues its clause.
            if let Some(c) = clause {
                if out.last().is_none_or(|(p, _)| *p != c) {
                    out.push((c, t.span));
                    k += 1;
                    continue;
                }
            }
        }
        if let Some(last) = out.last_mut() {
            last.1 = last.1.join(t.span);
        }
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::sql::source::Source;

    fn clauses(sql: &str) -> Vec<(&'static str, String)> {
        let src = Source::new(sql.to_string());
        let (_, toks) = src.tokenize().expect("test input tokenizes");
        split(&toks, 0)
            .into_iter()
            .map(|(c, s)| (c.kind(), s.slice(sql).to_string()))
            .collect()
    }

    #[test]
    fn splits_top_level_clauses() {
        let got = clauses(
            "select a, count(*) from t where x in (select y from u where z = 1) \
             group by a having count(*) > 2 qualify row_number() over (order by a) = 1 \
             order by a limit 5",
        );
        let kinds: Vec<_> = got.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            ["select", "from", "where", "group by", "having", "qualify", "order by", "limit"]
        );
        assert_eq!(got[2].1, "where x in (select y from u where z = 1)");
        assert_eq!(got[1].1, "from t");
    }

    #[test]
    fn stops_at_union_and_closing_paren() {
        let got = clauses("select * from a where x = 1 union all select * from b");
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].1, "where x = 1");
        let got = clauses("select * from a where x = 1) where y");
        assert_eq!(got.last().map(|c| c.1.as_str()), Some("where x = 1"));
    }
}
