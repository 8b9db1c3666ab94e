
INSERT INTO catalogues (id,title,settings,created_at,updated_at) VALUES ('00000000-0000-0000-0000-000000000001','C','{}',now(),now());
INSERT INTO chapters (catalogue_id,key,title,position) VALUES ('00000000-0000-0000-0000-000000000001','one','One',0);
INSERT INTO contributions (id,catalogue_id,chapter_key,state,author,title,kind,role,modality,received)
 VALUES ('00000000-0000-0000-0000-000000000002','00000000-0000-0000-0000-000000000001','one','Chile','A','T','text','donor','bilateral','2012-01-01');
ALTER TABLE documents ADD COLUMN n int UNIQUE;
INSERT INTO documents (id,contribution_id,file_name,sha256,bytes,blob_key,state,n)
 SELECT gen_random_uuid(),'00000000-0000-0000-0000-000000000002','f'||g||'.pdf',md5(g::text),1,'k','queued',g FROM generate_series(1,4000) g;
