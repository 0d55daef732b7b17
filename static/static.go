// Package static embeds the CSS, JavaScript and vendored htmx served
// under /static.
package static

import "embed"

// Files are the embedded assets.
//
//go:embed *.css *.js *.svg vendor
var Files embed.FS
