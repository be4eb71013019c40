//! `math`: Weft's standard blocks for numbers — calculate, round and
//! aggregate.
//!
//! Whole-number results are written as JSON integers (`14`, not `14.0`)
//! when they are below 2^53 in size, and arithmetic on integers stays exact
//! as long as it fits in 64 bits.

use weft_conditions::get_path;
use weft_sdk::prelude::*;
use weft_sdk::serde_json::Number;

/// A number while it is being worked on: exact integers stay exact.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(i64),
    Float(f64),
}

/// Below this size a whole float is written as an integer.
const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53

impl Num {
    fn from_number(n: &Number) -> Num {
        match n.as_i64() {
            Some(i) => Num::Int(i),
            None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
        }
    }

    /// A number, or text that reads as one (`" 12.5 "`).
    fn from_value(v: &Value) -> Option<Num> {
        match v {
            Value::Number(n) => Some(Num::from_number(n)),
            Value::String(s) => {
                let s = s.trim();
                if let Ok(i) = s.parse::<i64>() {
                    return Some(Num::Int(i));
                }
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Num::Float)
            }
            _ => None,
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    fn is_zero(self) -> bool {
        self.as_f64() == 0.0
    }

    /// The JSON number; `None` for NaN and infinities.
    fn to_number(self) -> Option<Number> {
        match self {
            Num::Int(i) => Some(Number::from(i)),
            Num::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < EXACT_LIMIT => {
                Some(Number::from(f as i64))
            }
            Num::Float(f) => Number::from_f64(f),
        }
    }
}

fn finite_result(result: Num, what: &str) -> Result<Number, BlockError> {
    result.to_number().ok_or_else(|| {
        BlockError::invalid_input(format!(
            "the result of {what} is not a finite number (check `a` and `b`)"
        ))
    })
}

// ------------------------------------------------------------- calculate

/// An arithmetic operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// a + b
    Add,
    /// a - b
    Subtract,
    /// a × b
    Multiply,
    /// a ÷ b
    Divide,
    /// The remainder of a ÷ b, with the sign of a (-7 modulo 3 = -1).
    Modulo,
    /// a to the power of b.
    Power,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalculateInput {
    /// `add`, `subtract`, `multiply`, `divide`, `modulo` or `power`.
    pub operation: Operation,
    /// The left operand.
    pub a: Number,
    /// The right operand (must not be 0 for `divide` and `modulo`).
    pub b: Number,
}

#[derive(Serialize, JsonSchema)]
pub struct CalculateOutput {
    /// The result; an integer when it is a whole number.
    pub result: Number,
}

fn calculate(_ctx: &Context, input: CalculateInput) -> Result<CalculateOutput, BlockError> {
    use Num::{Float, Int};
    let (a, b) = (Num::from_number(&input.a), Num::from_number(&input.b));
    let float = |f: fn(f64, f64) -> f64| Float(f(a.as_f64(), b.as_f64()));
    let result = match input.operation {
        Operation::Add => match (a, b) {
            (Int(x), Int(y)) => x.checked_add(y).map_or_else(|| float(|x, y| x + y), Int),
            _ => float(|x, y| x + y),
        },
        Operation::Subtract => match (a, b) {
            (Int(x), Int(y)) => x.checked_sub(y).map_or_else(|| float(|x, y| x - y), Int),
            _ => float(|x, y| x - y),
        },
        Operation::Multiply => match (a, b) {
            (Int(x), Int(y)) => x.checked_mul(y).map_or_else(|| float(|x, y| x * y), Int),
            _ => float(|x, y| x * y),
        },
        Operation::Divide | Operation::Modulo if b.is_zero() => {
            let what = if input.operation == Operation::Divide {
                "division"
            } else {
                "modulo"
            };
            return Err(
                BlockError::invalid_input(format!("{what} by zero: `b` must not be 0"))
                    .with_details(json!({ "path": "b" })),
            );
        }
        Operation::Divide => match (a, b) {
            (Int(x), Int(y)) if x.checked_rem(y) == Some(0) => {
                x.checked_div(y).map_or_else(|| float(|x, y| x / y), Int)
            }
            _ => float(|x, y| x / y),
        },
        Operation::Modulo => match (a, b) {
            (Int(x), Int(y)) => x.checked_rem(y).map_or_else(|| float(|x, y| x % y), Int),
            _ => float(|x, y| x % y),
        },
        Operation::Power => match (a, b) {
            (Int(x), Int(y)) => u32::try_from(y)
                .ok()
                .and_then(|y| x.checked_pow(y))
                .map_or_else(|| float(f64::powf), Int),
            _ => float(f64::powf),
        },
    };
    let what = format!("{:?}", input.operation).to_lowercase();
    Ok(CalculateOutput {
        result: finite_result(result, &what)?,
    })
}

// ----------------------------------------------------------------- round

/// How to round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoundMode {
    /// To the nearest; halves away from zero (2.5 → 3, -2.5 → -3).
    #[default]
    Round,
    /// Down, towards negative infinity.
    Floor,
    /// Up, towards positive infinity.
    Ceil,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundInput {
    /// The number to round.
    pub value: Number,
    /// How many decimal places to keep (0 for a whole number; negative
    /// rounds to tens, hundreds, …). Between -300 and 300.
    #[serde(default)]
    pub decimals: i32,
    /// `round` (nearest, halves away from zero), `floor` or `ceil`.
    #[serde(default)]
    pub mode: RoundMode,
}

#[derive(Serialize, JsonSchema)]
pub struct RoundOutput {
    /// The rounded number; an integer when it is a whole number.
    pub result: Number,
}

fn round(_ctx: &Context, input: RoundInput) -> Result<RoundOutput, BlockError> {
    if !(-300..=300).contains(&input.decimals) {
        return Err(
            BlockError::invalid_input("`decimals` must be between -300 and 300")
                .with_details(json!({ "path": "decimals" })),
        );
    }
    let value = Num::from_number(&input.value);
    let result = match value {
        Num::Int(_) if input.decimals >= 0 => value,
        _ => Num::Float(round_decimal(value.as_f64(), input.decimals, input.mode)),
    };
    Ok(RoundOutput {
        result: finite_result(result, "round")?,
    })
}

/// Round at a decimal position, working on the number's shortest decimal
/// form (so 1.005 rounds to 1.01 as written, although the binary value is
/// slightly below it).
fn round_decimal(value: f64, decimals: i32, mode: RoundMode) -> f64 {
    let shift = |v: f64, by: i32| format!("{v}e{by}").parse::<f64>().unwrap_or(f64::NAN);
    let shifted = shift(value, decimals);
    if !shifted.is_finite() {
        // So large at this position that there is nothing to round.
        return value;
    }
    let rounded = match mode {
        RoundMode::Round => shifted.round(),
        RoundMode::Floor => shifted.floor(),
        RoundMode::Ceil => shifted.ceil(),
    };
    let back = shift(rounded, -decimals);
    // Avoid a "-0" result.
    if back == 0.0 { 0.0 } else { back }
}

// ------------------------------------------------------------- aggregate

/// How to combine the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    /// The total (0 for an empty list).
    Sum,
    /// The mean (null for an empty list).
    Average,
    /// The smallest (null for an empty list).
    Min,
    /// The largest (null for an empty list).
    Max,
    /// How many items the list has (any items, numeric or not).
    Count,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AggregateInput {
    /// The items. Each value must be a number or numeric text (`"12.5"`),
    /// except for `count`.
    pub list: Vec<Value>,
    /// Path of the number inside each item (e.g. `price` or
    /// `totals.net`); empty when the items are the numbers themselves.
    #[serde(default)]
    pub field: String,
    /// `sum`, `average`, `min`, `max` or `count`.
    pub operation: Aggregation,
}

#[derive(Serialize, JsonSchema)]
pub struct AggregateOutput {
    /// The result; an integer when it is a whole number; null for
    /// `average`, `min` and `max` of an empty list.
    pub result: Option<Number>,
}

fn aggregate(_ctx: &Context, input: AggregateInput) -> Result<AggregateOutput, BlockError> {
    if input.operation == Aggregation::Count {
        return Ok(AggregateOutput {
            result: Some(Number::from(input.list.len())),
        });
    }
    let mut numbers = Vec::with_capacity(input.list.len());
    for (index, item) in input.list.iter().enumerate() {
        let value = get_path(item, &input.field).unwrap_or(&Value::Null);
        let Some(n) = Num::from_value(value) else {
            let at = if input.field.is_empty() {
                format!("list[{index}]")
            } else {
                format!("list[{index}].{}", input.field)
            };
            return Err(
                BlockError::invalid_input(format!("{at} is not a number: {value}"))
                    .with_details(json!({ "path": at, "index": index })),
            );
        };
        numbers.push(n);
    }
    let result = match input.operation {
        Aggregation::Count => unreachable!("handled above"),
        Aggregation::Sum => Some(sum(&numbers)),
        Aggregation::Average => (!numbers.is_empty()).then(|| {
            let len = numbers.len() as i64;
            match sum(&numbers) {
                Num::Int(total) if total % len == 0 => Num::Int(total / len),
                total => Num::Float(total.as_f64() / len as f64),
            }
        }),
        Aggregation::Min => extreme(&numbers, std::cmp::Ordering::Less),
        Aggregation::Max => extreme(&numbers, std::cmp::Ordering::Greater),
    };
    let result = match result {
        None => None,
        Some(n) => Some(n.to_number().ok_or_else(|| {
            BlockError::invalid_input("the result is not a finite number (it overflowed)")
        })?),
    };
    Ok(AggregateOutput { result })
}

/// Exact while every number is an integer and the total fits in 64 bits.
fn sum(numbers: &[Num]) -> Num {
    let mut total = Num::Int(0);
    for &n in numbers {
        total = match (total, n) {
            (Num::Int(x), Num::Int(y)) => x
                .checked_add(y)
                .map_or(Num::Float(x as f64 + y as f64), Num::Int),
            (x, y) => Num::Float(x.as_f64() + y.as_f64()),
        };
    }
    total
}

/// The first number that is `wanted` (less/greater) than all others.
fn extreme(numbers: &[Num], wanted: std::cmp::Ordering) -> Option<Num> {
    let cmp = |a: Num, b: Num| match (a, b) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        _ => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(std::cmp::Ordering::Equal),
    };
    numbers
        .iter()
        .copied()
        .reduce(|best, n| if cmp(n, best) == wanted { n } else { best })
}

weft_sdk::connector! {
    id: "math",
    name: "Math",
    description: "Arithmetic, rounding, and sums, averages, minimums and maximums of lists.",
    hosts: [],
    auth: [Auth::None],
    blocks: [
        calculate => ("calculate", "Calculate", "Adds, subtracts, multiplies, divides, takes the remainder or raises to a power."),
        round => ("round", "Round", "Rounds a number to a number of decimals, to nearest, down or up."),
        aggregate => ("aggregate", "Aggregate", "Sum, average, minimum, maximum or count of a list's numbers."),
    ],
}
