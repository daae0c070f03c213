/* The page's elements. */
export const $ = (id) => document.getElementById(id);

export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

// a message in its place (a problem, a refusal): hidden while there is none
export function showText(node, text) {
  node.textContent = text || "";
  node.hidden = !text;
}
