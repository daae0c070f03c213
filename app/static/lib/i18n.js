/* The page's texts: the server renders them in the page's language into <script id="i18n"
 * type="application/json"> (screen_base.html); the scripts only fill in the values. */
export function strings(id = "i18n") {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

export const T = strings();
export const en = document.documentElement.lang === "en";
export const locale = en ? "en-GB" : "zh-CN";

// "{name}" replaced by its value; a value not given is left out
export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (values[k] == null ? "" : values[k]));
}
