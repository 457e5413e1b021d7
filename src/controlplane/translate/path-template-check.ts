// AuthorizationPolicy path values as istio/api validates them: a plain match form, or an Envoy
// URI template with `{*}` / `{**}` (the waypoint's own check, shared so both sides agree).

import { isPathTemplate, pathTemplateProblem } from '../../waypoint/security/path-template.js';

/** Why a `paths` / `notPaths` value is invalid, or undefined. */
export function pathTemplateIssue(value: string): string | undefined {
  // Only values holding an operator are templates; any other value is a plain match form.
  return isPathTemplate(value) ? pathTemplateProblem(value) : undefined;
}
