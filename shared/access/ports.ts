/** The small interfaces the access system speaks to; `shared/aws/access/` implements them. */

/** The rules text an admin uploaded last, as stored. */
export interface StoredRules {
  text: string;
  updatedAt: string;
  /** The access key that uploaded it. */
  updatedBy: string;
}

/** Where the uploaded scan rules live (one document per deployment). */
export interface RulesStore {
  get(): Promise<StoredRules | undefined>;
  /** Replaces the rules; the last write wins. */
  put(rules: StoredRules): Promise<void>;
}
