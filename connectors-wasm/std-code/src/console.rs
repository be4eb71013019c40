//! `console.log` and friends: each call is one line in the block's log
//! (the host keeps a bounded number of lines of bounded length). Values
//! are written as `console.log` in a browser would, roughly: text as it
//! is, everything else as boa displays it, separated by spaces.

use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{Context, JsResult, JsValue, NativeFunction, js_string};

/// Longest line built from one call, in bytes; the host cuts lines too,
/// but a script should not spend its memory building one it will cut.
const MAX_LINE_BYTES: usize = 16 << 10;

pub fn install(context: &mut Context) -> JsResult<()> {
    let console = ObjectInitializer::new(context)
        .function(NativeFunction::from_fn_ptr(log), js_string!("log"), 0)
        .function(NativeFunction::from_fn_ptr(info), js_string!("info"), 0)
        .function(NativeFunction::from_fn_ptr(debug), js_string!("debug"), 0)
        .function(NativeFunction::from_fn_ptr(warn), js_string!("warn"), 0)
        .function(NativeFunction::from_fn_ptr(error), js_string!("error"), 0)
        .build();
    context.register_global_property(js_string!("console"), console, Attribute::all())
}

fn log(_this: &JsValue, args: &[JsValue], _context: &mut Context) -> JsResult<JsValue> {
    weft_sdk::log::info(line(args));
    Ok(JsValue::undefined())
}

fn info(_this: &JsValue, args: &[JsValue], _context: &mut Context) -> JsResult<JsValue> {
    weft_sdk::log::info(line(args));
    Ok(JsValue::undefined())
}

fn debug(_this: &JsValue, args: &[JsValue], _context: &mut Context) -> JsResult<JsValue> {
    weft_sdk::log::debug(line(args));
    Ok(JsValue::undefined())
}

fn warn(_this: &JsValue, args: &[JsValue], _context: &mut Context) -> JsResult<JsValue> {
    weft_sdk::log::warn(line(args));
    Ok(JsValue::undefined())
}

fn error(_this: &JsValue, args: &[JsValue], _context: &mut Context) -> JsResult<JsValue> {
    weft_sdk::log::error(line(args));
    Ok(JsValue::undefined())
}

/// The arguments of one call as one line, at most [`MAX_LINE_BYTES`].
fn line(args: &[JsValue]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match arg.as_string() {
            Some(s) => out.push_str(&s.to_std_string_escaped()),
            None => out.push_str(&arg.display().to_string()),
        }
        if out.len() > MAX_LINE_BYTES {
            let mut end = MAX_LINE_BYTES;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            out.push('…');
            break;
        }
    }
    out
}
