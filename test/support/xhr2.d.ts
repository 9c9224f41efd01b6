declare module 'xhr2' {
  /** The XMLHttpRequest of browsers, for Node. */
  export default class XMLHttpRequest {
    readonly responseText: string;
  }
}
