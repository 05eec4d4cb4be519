//! Functions that take any number of arguments, as Python's do: `spawn`,
//! `process` and `pack`. A Rhai function has a fixed number of parameters,
//! so these are call-shaped custom syntax: `NAME(expr, expr, ...)`, the
//! values evaluated left to right and handed over as a list. (`spawn` must
//! be syntax anyway: it is a reserved word in Rhai.)

use rhai::{Dynamic, Engine, EvalAltResult, EvalContext, Expression, Position};

/// What a call-shaped form does with its evaluated arguments.
pub type Handler = fn(&mut EvalContext, Vec<Dynamic>) -> Result<Dynamic, Box<EvalAltResult>>;

/// Registers `name(a, b, ...)`; `empty` is the message for `name()`.
pub fn register_call(engine: &mut Engine, name: &'static str, empty: &'static str, handler: Handler) {
    engine.register_custom_syntax_with_state_raw(
        name,
        move |symbols, look_ahead, _state| {
            let last = symbols.last().map_or("", |s| s.as_str());
            Ok(match (last, look_ahead) {
                (keyword, _) if keyword == name => Some("(".into()),
                ("(", ")") => {
                    return Err(rhai::LexError::ImproperSymbol(")".into(), empty.into()).into_err(Position::NONE));
                }
                ("(", _) | (",", _) => Some("$expr$".into()),
                ("$expr$", ",") => Some(",".into()),
                ("$expr$", _) => Some(")".into()),
                _ => None,
            })
        },
        false,
        move |ctx: &mut EvalContext, inputs: &[Expression], _state: &Dynamic| {
            let mut values = Vec::with_capacity(inputs.len());
            for input in inputs {
                values.push(ctx.eval_expression_tree(input)?.flatten());
            }
            handler(ctx, values)
        },
    );
}
