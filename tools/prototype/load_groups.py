# Reads the shipped 5k chr22 VCF into one <GROUP>.npy (haplotypes x SNPs, int8) per population,
# in the current directory, for gmmn_proto.py.
import gzip, os, numpy as np
DATA=os.path.join(os.path.dirname(os.path.abspath(__file__)),'..','..','data')
def vcf(path):
    rows=[]; samples=None
    for line in gzip.open(path,'rt'):
        if line.startswith('##'): continue
        f=line.rstrip('\n').split('\t')
        if line.startswith('#'): samples=f[9:]; continue
        rows.append([int(c) for x in f[9:] for c in (x[0],x[2])])
    return samples, np.array(rows,dtype=np.int8).T
s,X=vcf(os.path.join(DATA,'sim_ooa4_chr22_5k.vcf.gz'))
pan=[l.split() for l in open(os.path.join(DATA,'sim_ooa4_chr22_5k.panel'))]
hdr=pan[0]; col=hdr.index('pop'); lab={r[0]:r[col] for r in pan[1:]}
hl=np.array([lab[x] for x in s for _ in (0,1)])
for g in sorted(set(hl)):
    np.save(f'{g}.npy', X[hl==g]); print(g, (hl==g).sum())
