//! The one macro a connector needs: [`crate::connector!`].

/// Declare the connector and export it as a component.
///
/// ```ignore
/// weft_sdk::connector! {
///     id: "weather",
///     name: "Weather",
///     description: "Forecasts from api.weather.example.",
///     hosts: ["https://api.weather.example"],
///     auth: [Auth::ApiKeyQuery("key")],
///     blocks: [
///         forecast => ("forecast", "Get forecast", "Forecast for a city."),
///     ],
/// }
/// ```
///
/// Each entry in `blocks` names a function `fn(&Context, In) -> Result<Out,
/// BlockError>` where `In: Deserialize + JsonSchema` and `Out: Serialize +
/// JsonSchema`, followed by the block's id, display name and description.
/// The connector's version is the crate's `CARGO_PKG_VERSION` unless a
/// `version: "x.y.z",` line follows `id`.
#[macro_export]
macro_rules! connector {
    (
        id: $id:expr,
        name: $name:expr,
        description: $description:expr,
        hosts: [$($host:expr),* $(,)?],
        auth: [$($auth:expr),* $(,)?],
        blocks: [$($func:path => ($block_id:expr, $block_name:expr, $block_desc:expr)),* $(,)?] $(,)?
    ) => {
        $crate::connector! {
            id: $id,
            version: env!("CARGO_PKG_VERSION"),
            name: $name,
            description: $description,
            hosts: [$($host),*],
            auth: [$($auth),*],
            blocks: [$($func => ($block_id, $block_name, $block_desc)),*],
        }
    };
    (
        id: $id:expr,
        version: $version:expr,
        name: $name:expr,
        description: $description:expr,
        hosts: [$($host:expr),* $(,)?],
        auth: [$($auth:expr),* $(,)?],
        blocks: [$($func:path => ($block_id:expr, $block_name:expr, $block_desc:expr)),* $(,)?] $(,)?
    ) => {
        #[doc(hidden)]
        pub struct __WeftConnector;

        impl $crate::__private::Guest for __WeftConnector {
            fn describe() -> $crate::__private::wit::Manifest {
                #[allow(unused_imports)]
                use $crate::manifest::Auth;
                $crate::__private::manifest(
                    $id,
                    $version,
                    $name,
                    $description,
                    &[$($host),*],
                    vec![$($auth),*],
                    vec![$($crate::__private::block_spec($func, $block_id, $block_name, $block_desc)),*],
                )
            }

            fn invoke(
                block: String,
                input: String,
                context: $crate::__private::wit::InvokeContext,
            ) -> Result<String, $crate::__private::wit::BlockError> {
                $(
                    if block == $block_id {
                        return $crate::__private::run_block($func, &input, context);
                    }
                )*
                Err($crate::__private::wit::BlockError::InvalidInput(
                    $crate::__private::wit::ErrorInfo {
                        message: format!("connector {} has no block {:?}", $id, block),
                        details: None,
                    },
                ))
            }
        }

        $crate::bindings::__export_plugin!(__WeftConnector with_types_in $crate::bindings);
    };
}
