/**
 * The page, its script and its stylesheet: strings in the module graph, so
 * the compiled binary serves them without files, a CDN or a build step.
 * @module
 */
import { formatDuration } from "../../config/duration.ts";
import { formatAge } from "../age.ts";
import { APP_SOURCE } from "./app_js.ts";

export { STYLE_CSS } from "./style_css.ts";

/** Options of {@link pageHtml}. */
export interface PageOptions {
  /** The admin page (action buttons, `/admin/api`). */
  admin: boolean;
}

/** The page's HTML shell; the script renders everything inside it. */
export function pageHtml(options: PageOptions): string {
  const title = options.admin ? "maglev dashboard (admin)" : "maglev dashboard";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body data-admin="${options.admin}">
<header><h1>${title}</h1><nav id="tabs"></nav><span id="version"></span><span id="stream">connecting</span></header>
<main id="main"></main>
<aside id="details" hidden></aside>
<aside id="confirm" hidden></aside>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`;
}

let script: string | undefined;

/**
 * The page's script. The duration and age formatters are the daemon's own
 * functions, put in front of the script as their source text, so the page
 * has no second copy of either rule.
 */
export function appJs(): string {
  script ??= `${formatDuration.toString()}\n${formatAge.toString()}\n${APP_SOURCE}`;
  return script;
}
