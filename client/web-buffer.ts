/**
 * The codec (shared/codec) is Node-shaped: it reads and writes slice headers with `Buffer`,
 * which a page lacks. Imported first by the browser entry of the transfers (web-transfers.ts),
 * this gives the page the `buffer` package's, the Node API written for browsers, before any
 * codec module is evaluated (imports evaluate in their order).
 */
import { Buffer } from 'buffer/';

if (!('Buffer' in globalThis)) Object.assign(globalThis, { Buffer });
