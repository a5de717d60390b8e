/**
 * Slice names: the stable address of one slice, and (in canonical string form) its key in its
 * storage unit's bucket. The form is
 *
 *   <vault>/<object id>/<revision>/<segment, 10 digits>/<pillar, 3 digits>
 *
 * so that all slices of a revision share a prefix (listing or deleting a revision is one
 * prefix scan per unit) and keys sort by segment then pillar.
 */
import { InvalidSliceNameError } from '../errors.ts';

export interface SliceName {
  vault: string;
  objectId: string;
  revision: string;
  segment: number;
  pillar: number;
}

export const MAX_SEGMENT_INDEX = 9_999_999_999;
export const MAX_PILLAR_INDEX = 255;

const VAULT = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const OBJECT_ID = /^[A-Za-z0-9_-]{22}$/;
const REVISION = /^[0-9a-z]{10}[0-9a-f]{16}$/;
const FORM = /^([^/]+)\/([^/]+)\/([^/]+)\/(\d{10})\/(\d{3})$/;

function check(name: SliceName, text: string): SliceName {
  if (!VAULT.test(name.vault))
    throw new InvalidSliceNameError(text, `vault "${name.vault}" is not a vault name`);
  if (!OBJECT_ID.test(name.objectId)) {
    throw new InvalidSliceNameError(text, 'object id must be 22 base64url characters');
  }
  if (!REVISION.test(name.revision)) {
    throw new InvalidSliceNameError(text, 'revision must be 10 base-36 then 16 hex characters');
  }
  if (!Number.isInteger(name.segment) || name.segment < 0 || name.segment > MAX_SEGMENT_INDEX) {
    throw new InvalidSliceNameError(text, `segment must be an integer 0..${MAX_SEGMENT_INDEX}`);
  }
  if (!Number.isInteger(name.pillar) || name.pillar < 0 || name.pillar > MAX_PILLAR_INDEX) {
    throw new InvalidSliceNameError(text, `pillar must be an integer 0..${MAX_PILLAR_INDEX}`);
  }
  return name;
}

/** The key prefix shared by every slice of one revision. */
export function revisionPrefix(vault: string, objectId: string, revision: string): string {
  return `${vault}/${objectId}/${revision}/`;
}

/** Names the slices of one revision (an index entry or a revision record) by segment and pillar. */
export function sliceNamesOf(of: {
  vault: string;
  objectId: string;
  revision: string;
}): (segment: number, pillar: number) => SliceName {
  return (segment, pillar) => ({
    vault: of.vault,
    objectId: of.objectId,
    revision: of.revision,
    segment,
    pillar,
  });
}

/** The canonical string (bucket key) of a slice name. @throws InvalidSliceNameError */
export function formatSliceName(name: SliceName): string {
  const text = `${revisionPrefix(name.vault, name.objectId, name.revision)}${String(name.segment).padStart(10, '0')}/${String(name.pillar).padStart(3, '0')}`;
  check(name, text);
  return text;
}

/** Parses a canonical slice name; `formatSliceName(parseSliceName(s)) === s`. @throws InvalidSliceNameError */
export function parseSliceName(text: string): SliceName {
  if (typeof text !== 'string') throw new InvalidSliceNameError(String(text), 'must be a string');
  const m = FORM.exec(text);
  if (!m) {
    throw new InvalidSliceNameError(
      text,
      'expected <vault>/<object id>/<revision>/<10-digit segment>/<3-digit pillar>',
    );
  }
  return check(
    {
      vault: m[1] as string,
      objectId: m[2] as string,
      revision: m[3] as string,
      segment: Number(m[4]),
      pillar: Number(m[5]),
    },
    text,
  );
}
