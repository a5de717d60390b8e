/** A staged upload as it is stored and returned by the API. */
export type UploadState = 'open' | 'dispersing' | 'committed' | 'failed' | 'pending';

export interface Upload {
  uploadId: string;
  vault: string;
  key: string;
  state: UploadState;
  createdAt: string;
  parts?: number;
  size?: number;
  revision?: string;
  sha256?: string;
  reason?: string;
  failedUnits?: number[];
}
