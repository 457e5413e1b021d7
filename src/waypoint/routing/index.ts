// Public surface of the waypoint routing engine: pure route selection over a port's compiled
// routes and the request/response transformations routes ask for (headers, path, redirect).

export type { HeaderMap } from './header-map.js';
export { applyHeaderMutation, headerValue } from './header-map.js';
export type { RequestView } from './request-view.js';
export { queryParam, percentDecode } from './query-param.js';
export { compileRegex } from './re2-regex.js';
export type { StringTest } from './string-match.js';
export { compileStringMatch } from './string-match.js';
export type { CompiledRouteMatch } from './route-match.js';
export { compileRouteMatch, routeMatches } from './route-match.js';
export { PortRoutes } from './port-routes.js';
export { rewritePath, regexRewriter } from './path-rewrite.js';
export type { RedirectRequest } from './redirect-location.js';
export { redirectLocation, hostWithoutPort } from './redirect-location.js';
export { pickWeighted, chance } from './weighted-choice.js';
