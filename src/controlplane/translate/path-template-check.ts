// AuthorizationPolicy path values as istio/api validates them: a plain match form, or an Envoy
// URI template with `{*}` / `{**}` (the waypoint's own check, shared so both sides agree).

import { isPathTemplate, pathTemplateProblem } from '../../waypoint/security/path-template.js';

/** Why a `paths` / `notPaths` value is invalid, or undefined. */
export function pathTemplateIssue(value: string): string | undefined {
  if (isPathTemplate(value)) return pathTemplateProblem(value);
  if (value.includes('{') || value.includes('}')) return 'braces are only allowed as the {*} and {**} path template operators';
  return undefined;
}
