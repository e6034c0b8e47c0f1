//! Lowering of KQL expression trees to the shared IR.
//!
//! A predicate becomes an [`Expr::Cmp`] when it compares a column with
//! literal values (after `let` substitution), so it can be counted as an
//! indicator; everything else stays an [`Expr::Scalar`] the evaluator can
//! still run. String operators that have no [`BinOp`] (`=~`, `has`, `in`…)
//! become `Scalar::Call` with the operator as the function name and the
//! operands as arguments (`in` takes the list as its second argument).

use crate::ir::{BinOp, Cmp, CmpOp, Expr, Flags, Literal, Scalar, UnaryOp};

use super::expr::Node;

/// The canonical operator, its case sensitivity, whether it is negated,
/// and whether it takes a list of values.
fn cmp_op(op: &str) -> Option<(CmpOp, bool, bool, bool)> {
    // (canonical, case_sensitive, negated, list)
    Some(match op {
        "==" => (CmpOp::Eq, true, false, false),
        "=~" => (CmpOp::Eq, false, false, false),
        "!=" => (CmpOp::Ne, true, false, false),
        "!~" => (CmpOp::Ne, false, false, false),
        "<" => (CmpOp::Lt, true, false, false),
        "<=" => (CmpOp::Le, true, false, false),
        ">" => (CmpOp::Gt, true, false, false),
        ">=" => (CmpOp::Ge, true, false, false),
        "has" => (CmpOp::Has, false, false, false),
        "!has" => (CmpOp::Has, false, true, false),
        "has_cs" => (CmpOp::Has, true, false, false),
        "!has_cs" => (CmpOp::Has, true, true, false),
        "has_any" | "has_all" => (CmpOp::Has, false, false, true),
        "contains" => (CmpOp::Contains, false, false, false),
        "!contains" => (CmpOp::Contains, false, true, false),
        "contains_cs" => (CmpOp::Contains, true, false, false),
        "!contains_cs" => (CmpOp::Contains, true, true, false),
        "startswith" => (CmpOp::StartsWith, false, false, false),
        "!startswith" => (CmpOp::StartsWith, false, true, false),
        "startswith_cs" => (CmpOp::StartsWith, true, false, false),
        "!startswith_cs" => (CmpOp::StartsWith, true, true, false),
        "endswith" => (CmpOp::EndsWith, false, false, false),
        "!endswith" => (CmpOp::EndsWith, false, true, false),
        "endswith_cs" => (CmpOp::EndsWith, true, false, false),
        "!endswith_cs" => (CmpOp::EndsWith, true, true, false),
        "matches regex" => (CmpOp::Match, true, false, false),
        "in" => (CmpOp::In, true, false, true),
        "!in" => (CmpOp::In, true, true, true),
        "in~" => (CmpOp::In, false, false, true),
        "!in~" => (CmpOp::In, false, true, true),
        "between" => (CmpOp::Between, true, false, true),
        "!between" => (CmpOp::Between, true, true, true),
        _ => return None,
    })
}

/// Lowers a boolean expression (a `where` condition).
pub fn to_expr(node: &Node) -> Expr {
    match node {
        Node::And { children, .. } => Expr::And {
            children: children.iter().map(to_expr).collect(),
        },
        Node::Or { children, .. } => Expr::Or {
            children: children.iter().map(to_expr).collect(),
        },
        Node::Call { name, args, span } => match (name.as_str(), args.as_slice()) {
            ("not", [inner]) => Expr::Not {
                child: Box::new(to_expr(inner)),
            },
            ("isempty" | "isnotempty" | "isnull" | "isnotnull", [Node::Ident { name: f, .. }]) => {
                let op = if name.starts_with("isnot") {
                    CmpOp::IsNotNull
                } else {
                    CmpOp::IsNull
                };
                Expr::Cmp(Cmp {
                    field: f.clone(),
                    op,
                    values: Vec::new(),
                    flags: Flags {
                        empty_is_null: name.ends_with("empty"),
                        ..Flags::default()
                    },
                    span: *span,
                })
            }
            _ => scalar_expr(node),
        },
        Node::Bin { op, lhs, rhs, span } => {
            let (Some((cop, cs, negated, list)), Node::Ident { name: field, .. }) =
                (cmp_op(op), &**lhs)
            else {
                return scalar_expr(node);
            };
            let values = if list {
                list_literals(rhs)
            } else {
                literal(rhs).map(|l| vec![l])
            };
            let Some(values) = values else {
                return scalar_expr(node);
            };
            if cop == CmpOp::Between && values.len() != 2 {
                return scalar_expr(node);
            }
            let cmp = Expr::Cmp(Cmp {
                field: field.clone(),
                op: cop,
                values,
                flags: Flags {
                    case_sensitive: cs,
                    all: op == "has_all",
                    ..Flags::default()
                },
                span: *span,
            });
            if negated {
                Expr::Not {
                    child: Box::new(cmp),
                }
            } else {
                cmp
            }
        }
        _ => scalar_expr(node),
    }
}

fn scalar_expr(node: &Node) -> Expr {
    Expr::Scalar {
        expr: to_scalar(node),
        span: node.span(),
    }
}

/// A single literal value, when the node is one.
fn literal(node: &Node) -> Option<Literal> {
    match node {
        Node::Str { lit, .. } => Some(lit.clone()),
        Node::Num { text, .. } => Some(Literal::plain(text)),
        Node::Bool { text, .. } => Some(Literal::plain(text)),
        _ => None,
    }
}

/// The values of a list operand, nested lists flattened (as `in` does);
/// `None` when any item is not a literal.
fn list_literals(node: &Node) -> Option<Vec<Literal>> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n {
            Node::List { items, .. } => stack.extend(items.iter().rev()),
            other => out.push(literal(other)?),
        }
    }
    Some(out)
}

/// Lowers a scalar expression.
pub fn to_scalar(node: &Node) -> Scalar {
    match node {
        Node::Ident { name, .. } => Scalar::Field { name: name.clone() },
        Node::Str { lit, .. } => Scalar::Str { lit: lit.clone() },
        Node::Num { text, .. } => Scalar::Num { text: text.clone() },
        Node::Bool { value, .. } => Scalar::Bool { value: *value },
        Node::Null { .. } => Scalar::Null,
        Node::Call { name, args, .. } => {
            if name == "not" && args.len() == 1 {
                return Scalar::Unary {
                    op: UnaryOp::Not,
                    expr: Box::new(to_scalar(&args[0])),
                };
            }
            Scalar::Call {
                name: name.clone(),
                args: args.iter().map(to_scalar).collect(),
            }
        }
        Node::List { items, .. } => Scalar::List {
            items: items.iter().map(to_scalar).collect(),
        },
        Node::And { children, .. } | Node::Or { children, .. } => {
            let op = if matches!(node, Node::And { .. }) {
                BinOp::And
            } else {
                BinOp::Or
            };
            // Fold left so `a and b and c` reads as ((a and b) and c).
            let mut it = children.iter().map(to_scalar);
            let first = it.next().unwrap_or(Scalar::Bool {
                value: op == BinOp::And,
            });
            it.fold(first, |acc, s| Scalar::Binary {
                op,
                lhs: Box::new(acc),
                rhs: Box::new(s),
            })
        }
        Node::Neg { expr, .. } => Scalar::Unary {
            op: UnaryOp::Neg,
            expr: Box::new(to_scalar(expr)),
        },
        Node::Index { base, index, .. } => Scalar::Call {
            name: "index".into(),
            args: vec![to_scalar(base), to_scalar(index)],
        },
        Node::Tabular { text, .. } => Scalar::Call {
            name: "tabular".into(),
            args: vec![Scalar::Str {
                lit: Literal::plain(text),
            }],
        },
        Node::Bin { op, lhs, rhs, .. } => {
            let bin = match op.as_str() {
                "+" => Some(BinOp::Add),
                "-" => Some(BinOp::Sub),
                "*" => Some(BinOp::Mul),
                "/" => Some(BinOp::Div),
                "%" => Some(BinOp::Rem),
                "==" => Some(BinOp::Eq),
                "!=" => Some(BinOp::Ne),
                "<" => Some(BinOp::Lt),
                "<=" => Some(BinOp::Le),
                ">" => Some(BinOp::Gt),
                ">=" => Some(BinOp::Ge),
                _ => None,
            };
            match bin {
                Some(op) => Scalar::Binary {
                    op,
                    lhs: Box::new(to_scalar(lhs)),
                    rhs: Box::new(to_scalar(rhs)),
                },
                None => Scalar::Call {
                    name: op.clone(),
                    args: vec![to_scalar(lhs), to_scalar(rhs)],
                },
            }
        }
    }
}
