package components

// KindConfig exposes kindConfig to the package's external tests.
var KindConfig = kindConfig
