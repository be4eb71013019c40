//! Arithmetic in decimal: `{add: 0.1, 0.2}` is `0.3`, not
//! `0.30000000000000004`, because prices and VAT rates are decimal
//! fractions that binary floating point cannot hold exactly. Numbers (or
//! numeric text) are read as [`Decimal`] (28 significant digits); a value
//! outside that range (`1e300`) or an operation that would overflow it
//! falls back to `f64`, so nothing that worked before fails now.

use super::{Formula, Limits, json_number};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;
use std::cmp::Ordering;
use std::str::FromStr;
use weft_conditions::{as_number, get_path};

pub const FORMULAS: &[Formula] = &[
    Formula {
        name: "add",
        aliases: &[],
        min: 2,
        max: 16,
        args: "number, number, …",
        description: "The sum of the numbers, in decimal.",
        examples: &[("[0.1, 0.2]", "0.3"), ("[\"19.99\", 5, 0.01]", "25")],
        missing_is_null: false,
        eval: add,
    },
    Formula {
        name: "subtract",
        aliases: &[],
        min: 2,
        max: 2,
        args: "number, number",
        description: "The first number minus the second, in decimal.",
        examples: &[("[0.3, 0.1]", "0.2")],
        missing_is_null: false,
        eval: subtract,
    },
    Formula {
        name: "multiply",
        aliases: &[],
        min: 2,
        max: 16,
        args: "number, number, …",
        description: "The product of the numbers, in decimal.",
        examples: &[("[19.99, 1.21]", "24.1879"), ("[3, 0.1]", "0.3")],
        missing_is_null: false,
        eval: multiply,
    },
    Formula {
        name: "divide",
        aliases: &[],
        min: 2,
        max: 2,
        args: "number, divisor",
        description: "The first number divided by the second; dividing by zero is an error.",
        examples: &[("[1, 4]", "0.25"), ("[0.3, 0.1]", "3")],
        missing_is_null: false,
        eval: divide,
    },
    Formula {
        name: "mod",
        aliases: &["modulo"],
        min: 2,
        max: 2,
        args: "number, divisor",
        description: "The remainder of the division, with the sign of the first number.",
        examples: &[("[7, 3]", "1"), ("[-7, 3]", "-1"), ("[5.5, 2]", "1.5")],
        missing_is_null: false,
        eval: modulo,
    },
    Formula {
        name: "round",
        aliases: &[],
        min: 1,
        max: 2,
        args: "number, places?",
        description: "Rounded to `places` decimals (0 by default), halves away from zero.",
        examples: &[("[2.345, 2]", "2.35"), ("[-2.5]", "-3")],
        missing_is_null: false,
        eval: round,
    },
    Formula {
        name: "ceil",
        aliases: &["ceiling"],
        min: 1,
        max: 2,
        args: "number, places?",
        description: "Rounded up (towards positive infinity) to `places` decimals.",
        examples: &[("[4.01]", "5"), ("[1.231, 2]", "1.24"), ("[-4.5]", "-4")],
        missing_is_null: false,
        eval: ceil,
    },
    Formula {
        name: "floor",
        aliases: &[],
        min: 1,
        max: 2,
        args: "number, places?",
        description: "Rounded down (towards negative infinity) to `places` decimals.",
        examples: &[("[4.99]", "4"), ("[-4.5]", "-5")],
        missing_is_null: false,
        eval: floor,
    },
    Formula {
        name: "abs",
        aliases: &[],
        min: 1,
        max: 1,
        args: "number",
        description: "The number without its sign.",
        examples: &[("[-3.5]", "3.5")],
        missing_is_null: false,
        eval: abs,
    },
    Formula {
        name: "min",
        aliases: &[],
        min: 1,
        max: 16,
        args: "number, number, … | list, field?",
        description: "The smallest number; given a list, of its items (or of each item's `field`); `null` for an empty list.",
        examples: &[
            ("[3, 1.5, 2]", "1.5"),
            ("[[{\"p\": 4}, {\"p\": 2.5}], \"p\"]", "2.5"),
        ],
        missing_is_null: false,
        eval: min,
    },
    Formula {
        name: "max",
        aliases: &[],
        min: 1,
        max: 16,
        args: "number, number, … | list, field?",
        description: "The largest number; given a list, of its items (or of each item's `field`); `null` for an empty list.",
        examples: &[("[3, 1.5, 2]", "3"), ("[[1, 9, 4]]", "9")],
        missing_is_null: false,
        eval: max,
    },
];

/// A number read from an argument: decimal when it fits, else binary.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Dec(Decimal),
    Float(f64),
}

impl Num {
    pub(crate) fn read(v: &Value, what: &str) -> Result<Num, String> {
        let text = match v {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.trim().to_string()),
            _ => None,
        };
        if let Some(d) = text.as_deref().and_then(|t| {
            Decimal::from_str(t)
                .or_else(|_| Decimal::from_scientific(t))
                .ok()
        }) {
            return Ok(Num::Dec(d));
        }
        as_number(v)
            .map(Num::Float)
            .ok_or_else(|| format!("{what} must be a number, got {}", super::excerpt_json(v)))
    }

    fn float(self) -> f64 {
        match self {
            Num::Dec(d) => d.to_f64().unwrap_or(f64::NAN),
            Num::Float(f) => f,
        }
    }

    pub(crate) fn value(self) -> Result<Value, String> {
        match self {
            Num::Dec(d) => {
                let d = d.normalize();
                if d.scale() == 0
                    && let Some(i) = d.to_i64()
                {
                    return Ok(Value::from(i));
                }
                Num::Float(d.to_string().parse::<f64>().unwrap_or(f64::NAN)).value()
            }
            Num::Float(f) if f.is_finite() => Ok(json_number(f)),
            Num::Float(_) => Err("the result is not a finite number".into()),
        }
    }

    pub(crate) fn cmp(self, other: Num) -> Ordering {
        match (self, other) {
            (Num::Dec(a), Num::Dec(b)) => a.cmp(&b),
            (a, b) => a.float().total_cmp(&b.float()),
        }
    }

    /// `self + other`, decimal-safe.
    pub(crate) fn plus(self, other: Num) -> Num {
        self.apply(other, Decimal::checked_add, |a, b| a + b)
    }

    /// `self op other` in decimal, or in `f64` when decimal overflows.
    fn apply(
        self,
        other: Num,
        dec: fn(Decimal, Decimal) -> Option<Decimal>,
        float: fn(f64, f64) -> f64,
    ) -> Num {
        if let (Num::Dec(a), Num::Dec(b)) = (self, other)
            && let Some(r) = dec(a, b)
        {
            return Num::Dec(r);
        }
        Num::Float(float(self.float(), other.float()))
    }
}

fn nums(args: &[Value]) -> Result<Vec<Num>, String> {
    args.iter()
        .enumerate()
        .map(|(i, v)| Num::read(v, &format!("argument {}", i + 1)))
        .collect()
}

fn fold(
    args: &[Value],
    dec: fn(Decimal, Decimal) -> Option<Decimal>,
    float: fn(f64, f64) -> f64,
) -> Result<Value, String> {
    let mut it = nums(args)?.into_iter();
    let first = it.next().ok_or("no numbers")?;
    it.fold(first, |acc, n| acc.apply(n, dec, float)).value()
}

fn add(args: &[Value], _: &Limits) -> Result<Value, String> {
    fold(args, Decimal::checked_add, |a, b| a + b)
}

fn subtract(args: &[Value], _: &Limits) -> Result<Value, String> {
    fold(args, Decimal::checked_sub, |a, b| a - b)
}

fn multiply(args: &[Value], _: &Limits) -> Result<Value, String> {
    fold(args, Decimal::checked_mul, |a, b| a * b)
}

fn nonzero_divisor(args: &[Value], formula: &str) -> Result<(), String> {
    if Num::read(&args[1], "the divisor")?.float() == 0.0 {
        return Err(format!("{formula}: division by zero"));
    }
    Ok(())
}

fn divide(args: &[Value], _: &Limits) -> Result<Value, String> {
    nonzero_divisor(args, "divide")?;
    fold(args, Decimal::checked_div, |a, b| a / b)
}

fn modulo(args: &[Value], _: &Limits) -> Result<Value, String> {
    nonzero_divisor(args, "mod")?;
    fold(args, Decimal::checked_rem, |a, b| a % b)
}

/// Rounds `args[0]` to `args[1]` places (0 to 15; 0 by default).
fn rounded(args: &[Value], strategy: RoundingStrategy) -> Result<Value, String> {
    let x = Num::read(&args[0], "the number")?;
    let places = match args.get(1) {
        Some(p) => super::integer(p, "places")?.clamp(0, 15) as u32,
        None => 0,
    };
    match x {
        Num::Dec(d) => Num::Dec(d.round_dp_with_strategy(places, strategy)).value(),
        Num::Float(f) => {
            let factor = 10f64.powi(places as i32);
            let scaled = f * factor;
            let r = match strategy {
                RoundingStrategy::ToPositiveInfinity => scaled.ceil(),
                RoundingStrategy::ToNegativeInfinity => scaled.floor(),
                _ => scaled.round(),
            };
            Num::Float(r / factor).value()
        }
    }
}

fn round(args: &[Value], _: &Limits) -> Result<Value, String> {
    rounded(args, RoundingStrategy::MidpointAwayFromZero)
}

fn ceil(args: &[Value], _: &Limits) -> Result<Value, String> {
    rounded(args, RoundingStrategy::ToPositiveInfinity)
}

fn floor(args: &[Value], _: &Limits) -> Result<Value, String> {
    rounded(args, RoundingStrategy::ToNegativeInfinity)
}

fn abs(args: &[Value], _: &Limits) -> Result<Value, String> {
    match Num::read(&args[0], "the number")? {
        Num::Dec(d) => Num::Dec(d.abs()),
        Num::Float(f) => Num::Float(f.abs()),
    }
    .value()
}

/// The numbers `min`, `max`, `sum` and `avg` work on: the arguments, or
/// a list's items (each item's `field` when one is given). Nulls and
/// items without the field are skipped, as blanks are in a spreadsheet.
pub(crate) fn numbers_in(args: &[Value]) -> Result<Vec<Num>, String> {
    let Some(items) = args[0].as_array() else {
        return nums(args);
    };
    if args.len() > 2 {
        return Err("given a list, the arguments are the list and a field".into());
    }
    let field = args.get(1).map(super::text);
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let v = match &field {
            Some(f) => get_path(item, f),
            None => Some(item),
        };
        match v {
            None | Some(Value::Null) => {}
            Some(v) => out.push(Num::read(v, &format!("item {i}"))?),
        }
    }
    Ok(out)
}

fn extreme(args: &[Value], keep: Ordering) -> Result<Value, String> {
    numbers_in(args)?
        .into_iter()
        .reduce(|a, b| if b.cmp(a) == keep { b } else { a })
        .map_or(Ok(Value::Null), Num::value)
}

fn min(args: &[Value], _: &Limits) -> Result<Value, String> {
    extreme(args, Ordering::Less)
}

fn max(args: &[Value], _: &Limits) -> Result<Value, String> {
    extreme(args, Ordering::Greater)
}

fn total(nums: &[Num]) -> Num {
    nums.iter().fold(Num::Dec(Decimal::ZERO), |acc, n| {
        acc.apply(*n, Decimal::checked_add, |a, b| a + b)
    })
}

/// The sum of [`numbers_in`]; 0 for none.
pub(crate) fn sum(args: &[Value]) -> Result<Num, String> {
    Ok(total(&numbers_in(args)?))
}

/// The mean of [`numbers_in`]; `None` for none.
pub(crate) fn avg(args: &[Value]) -> Result<Option<Num>, String> {
    let nums = numbers_in(args)?;
    if nums.is_empty() {
        return Ok(None);
    }
    let count = Num::Dec(Decimal::from(nums.len()));
    Ok(Some(total(&nums).apply(
        count,
        Decimal::checked_div,
        |a, b| a / b,
    )))
}
