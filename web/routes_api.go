package web

import (
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"extcron/account"
	"extcron/handlers"
)

// apiRoutes registers the JSON API under /api/v1 (SPEC §8). Reads need
// extension:read, everything else extension:write; the services check
// again.
func apiRoutes(api fiber.Router, o Options) {
	ext := handlers.NewExtensionsAPI(o.Installs, o.Registry)
	sch := handlers.NewSchedulesAPI(o.Schedules)
	read := requirePermission(account.ExtensionRead)
	write := requirePermission(account.ExtensionWrite)

	api.Get("/extensions", read, ext.List)
	api.Get("/extensions/:ext", read, ext.Get)
	api.Post("/extensions/:ext/install", write, ext.Install)
	api.Post("/extensions/:ext/enable", write, ext.Enable)
	api.Post("/extensions/:ext/disable", write, ext.Disable)
	api.Delete("/extensions/:ext", write, ext.Uninstall)
	api.Post("/extensions/:ext/update", write, ext.Update)
	api.Post("/extensions/:ext/update/preview", read, ext.PreviewUpdate)
	api.Get("/extensions/:ext/endpoints", read, ext.Endpoints)

	api.Get("/extensions/:ext/schedules", read, sch.List)
	api.Post("/extensions/:ext/schedules", write, sch.Create)
	api.Get("/extensions/:ext/schedules/:id", read, sch.Get)
	api.Patch("/extensions/:ext/schedules/:id", write, sch.Update)
	api.Delete("/extensions/:ext/schedules/:id", write, sch.Delete)
	api.Post("/extensions/:ext/schedules/:id/run-now", write, sch.RunNow)
	api.Get("/extensions/:ext/schedules/:id/runs", read, sch.Runs)
	api.Post("/schedules/preview", read, sch.Preview)
	api.Use(unmatchedAPI())
}

// unmatchedAPI answers an API request no route took: 405 with an Allow
// header when the path exists with other methods (a PUT where PATCH is
// meant), else 404.
func unmatchedAPI() fiber.Handler {
	type route struct {
		method string
		path   *regexp.Regexp
	}
	var once sync.Once
	var routes []route
	return func(c *fiber.Ctx) error {
		once.Do(func() {
			// The routes are all registered by the first request.
			for _, r := range c.App().GetRoutes(true) {
				if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == fiber.MethodHead {
					continue
				}
				segs := strings.Split(r.Path, "/")
				for i, seg := range segs {
					if strings.HasPrefix(seg, ":") {
						segs[i] = "[^/]+"
					} else {
						segs[i] = regexp.QuoteMeta(seg)
					}
				}
				routes = append(routes, route{r.Method, regexp.MustCompile("^" + strings.Join(segs, "/") + "/?$")})
			}
		})
		var allow []string
		for _, r := range routes {
			if r.path.MatchString(c.Path()) && !slices.Contains(allow, r.method) {
				allow = append(allow, r.method)
			}
		}
		if len(allow) == 0 {
			return fiber.ErrNotFound
		}
		slices.Sort(allow)
		c.Set(fiber.HeaderAllow, strings.Join(allow, ", "))
		return fiber.ErrMethodNotAllowed
	}
}
