/**
 * S3's ListParts for the local cloud. fauxqs 2.4 serves multipart uploads (create, upload part,
 * complete, abort) but not ListParts (`GET /bucket/key?uploadId=`, which it would answer as a
 * GetObject): completing a presigned upload lists its parts to check them before joining
 * them (shared/store/upload.ts). This layer answers it from fauxqs's own store, in S3's XML,
 * and lets every other request through.
 */
import type { Server } from 'node:http';
import { interpose } from './interpose.ts';
import { s3Target, sendS3Error } from './s3-http.ts';

/** What of fauxqs's S3Store this reads: its multipart uploads by id. */
export interface MultipartLookup {
  multipartUploads: Map<
    string,
    {
      bucket: string;
      key: string;
      parts: Map<
        number,
        { partNumber: number; etag: string; body: Uint8Array; lastModified: Date }
      >;
    }
  >;
}

/** Serves ListParts on `server` (fauxqs's), from `store`. */
export function installListParts(server: Server, store: MultipartLookup): void {
  interpose(server, (req, res, pass) => {
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const uploadId = query.get('uploadId');
    const target = s3Target(req);
    if (req.method !== 'GET' || !uploadId || query.has('partNumber') || !target?.key)
      return pass(req, res);
    req.resume();
    const upload = store.multipartUploads.get(uploadId);
    if (!upload || upload.bucket !== target.bucket || upload.key !== target.key) {
      return sendS3Error(
        res,
        404,
        'NoSuchUpload',
        'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      );
    }
    // One page holds them all: the local cloud's uploads stay far below S3's 1,000 a page.
    const parts = [...upload.parts.values()]
      .sort((a, b) => a.partNumber - b.partNumber)
      .map(
        (p) =>
          `<Part><PartNumber>${p.partNumber}</PartNumber><LastModified>${p.lastModified.toISOString()}</LastModified><ETag>${p.etag.replace(/"/g, '&quot;')}</ETag><Size>${p.body.length}</Size></Part>`,
      )
      .join('');
    const body = `<?xml version="1.0" encoding="UTF-8"?><ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${target.bucket}</Bucket><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${parts}</ListPartsResult>`;
    res.writeHead(200, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
}
