# Prototype used to screen quality ideas before they became stage options (docs/quality.md,
# "Exploration log"). A PyTorch re-implementation of the trainer (sketch computed in-process, loss
# = sum of weighted MSE of mean features) on one group, evaluated with scikit-learn on one 67/33
# split: it ranks ideas; the numbers of record come from gmmn-discriminate through gmmn run.
#   pip install scikit-learn scipy   (torch: the project's .venv)
#   python load_groups.py && python gmmn_proto.py --feat window,id --wid 50 --blocks 20 \
#       --latent 640 --hidden 2560 --steps 2000 --mask
import argparse, time, numpy as np, torch, json, sys
p=argparse.ArgumentParser()
p.add_argument('--group',default='CEU'); p.add_argument('--steps',type=int,default=600)
p.add_argument('--hidden',type=int,default=1024); p.add_argument('--latent',type=int,default=128)
p.add_argument('--batch',type=int,default=256); p.add_argument('--lr',type=float,default=1e-3)
p.add_argument('--feat',default='window')  # comma list: relu,window,rff,wrff,id,count
p.add_argument('--mult',type=float,default=1.0)
p.add_argument('--window',type=int,default=64); p.add_argument('--perwin',type=int,default=64)
p.add_argument('--rffD',type=int,default=2000); p.add_argument('--scales',default='1')
p.add_argument('--wid',type=float,default=1.0); p.add_argument('--wrff',type=float,default=1.0)
p.add_argument('--restart',type=int,default=0); p.add_argument('--seed',type=int,default=1)
p.add_argument('--threads',type=int,default=2); p.add_argument('--mask',action='store_true')
p.add_argument('--output',default='quantizer'); p.add_argument('--k',type=float,default=10); p.add_argument('--t',type=float,default=0.1)
p.add_argument('--center',action='store_true'); p.add_argument('--wrelu',type=float,default=1.0); p.add_argument('--wwin',type=float,default=1.0)
p.add_argument('--wquad',type=float,default=1.0)
p.add_argument('--blocks',type=int,default=0)
p.add_argument('--depth',type=int,default=1); p.add_argument('--tag',default='')
a=p.parse_args(); torch.set_num_threads(a.threads); torch.manual_seed(a.seed); rng=np.random.default_rng(a.seed)
X=np.load(f'{a.group}.npy').astype(np.float32); N,M=X.shape; Xt=torch.from_numpy(X)
af=X.mean(0); mono=(af==0)|(af==1)
P=torch.from_numpy(af) if a.center else torch.zeros(M)
P0=torch.from_numpy(af)
sig2=float((2*af*(1-af)).sum())  # expected squared distance between two haplotypes
class Q(torch.autograd.Function):
    @staticmethod
    def forward(ctx,x): ctx.save_for_backward(x); return (x>=0).float()
    @staticmethod
    def backward(ctx,g): (x,)=ctx.saved_tensors; return g*a.k*a.t*(1-torch.tanh(a.t*x)**2)
def make_feats(seed):
    r=np.random.default_rng(seed); fs=[]
    for f in a.feat.split(','):
        if f=='relu':
            D=int(a.mult*M); W=torch.from_numpy(r.standard_normal((D,M)).astype(np.float32))
            fs.append(('relu',a.wrelu,lambda x,W=W: torch.relu((x-P)@W.T)/np.sqrt(M)))
        elif f in('window','wrff'):
            w=a.window; st=range(0,M-w+1,w//2); idx=torch.tensor([i for s in st for i in range(s,s+w)]); nw=len(st)
            W=torch.from_numpy(r.standard_normal((nw,w,a.perwin)).astype(np.float32))
            if f=='window':
                fs.append(('window',a.wwin,lambda x,W=W,idx=idx,nw=nw: torch.relu(torch.bmm((x-P)[:,idx].view(x.shape[0],nw,w).transpose(0,1),W)).transpose(0,1).reshape(x.shape[0],-1)/np.sqrt(w)))
            else:
                # per-window bandwidth from local diversity
                s2=torch.tensor([max(float((2*af[s:s+w]*(1-af[s:s+w])).sum()),1.0) for s in st]).view(nw,1,1)
                b=torch.from_numpy(r.uniform(0,2*np.pi,(nw,1,a.perwin)).astype(np.float32))
                fs.append(('wrff',a.wrff,lambda x,W=W,idx=idx,nw=nw,s2=s2,b=b: torch.cos(torch.bmm(x[:,idx].view(x.shape[0],nw,w).transpose(0,1),W)/torch.sqrt(s2)+b).transpose(0,1).reshape(x.shape[0],-1)))
        elif f=='rff':
            for sc in [float(s) for s in a.scales.split(':')]:
                W=torch.from_numpy(r.standard_normal((a.rffD,M)).astype(np.float32)); b=torch.from_numpy(r.uniform(0,2*np.pi,a.rffD).astype(np.float32))
                sd=np.sqrt(sig2*sc)
                fs.append((f'rff{sc}',a.wrff,lambda x,W=W,b=b,sd=sd: torch.cos(x@W.T/sd+b)*np.sqrt(2)))
        elif f=='quad':
            D=int(a.mult*M); W=torch.from_numpy(r.standard_normal((D,M)).astype(np.float32))
            fs.append(('quad',a.wrelu,lambda x,W=W: ((x-P)@W.T)**2/M))
        elif f=='bcount':
            blocks=[]
            for sc in [16,64,256,1024,M]:
                sc=min(sc,M)
                for st in range(0,M-sc+1,max(sc//2,1)): blocks.append((st,st+sc))
            B=torch.zeros(M,len(blocks))
            for i,(u,v) in enumerate(blocks): B[u:v,i]=1/np.sqrt(v-u)
            fs.append(('bcount',a.wquad,lambda x,B=B: ((x-P0)@B)**2))
        elif f=='id':
            fs.append(('id',a.wid,lambda x: x))
    return fs
def sketch(fs):
    out=[]
    with torch.no_grad():
        for n,wt,fn in fs:
            m=torch.zeros(fn(Xt[:2]).shape[1])
            for i in range(0,N,256): m+=fn(Xt[i:i+256]).sum(0)
            out.append(m/N)
    return out
class Local(torch.nn.Module):
    # K contiguous SNP blocks, each with its own latent chunk and hidden units (block-diagonal)
    def __init__(s,K,zk,hk):
        super().__init__(); s.K=K; s.zk=zk
        bounds=np.linspace(0,M,K+1).astype(int); s.bounds=bounds; mb=int(np.max(np.diff(bounds)))
        s.W1=torch.nn.Parameter(torch.randn(K,zk,hk)/np.sqrt(zk)); s.b1=torch.nn.Parameter(torch.zeros(K,1,hk))
        s.bn=torch.nn.BatchNorm1d(K*hk)
        s.W2=torch.nn.Parameter(torch.randn(K,hk,mb)/np.sqrt(hk)*0.1); s.b2=torch.nn.Parameter(torch.zeros(K,1,mb))
        idx=[]; 
        for k in range(K):
            idx+= [k*mb+i for i in range(bounds[k+1]-bounds[k])]
        s.idx=torch.tensor(idx)
    def forward(s,z):
        B=z.shape[0]; z=z.view(B,s.K,s.zk).transpose(0,1)
        h=torch.relu(torch.bmm(z,s.W1)+s.b1).transpose(0,1).reshape(B,-1)
        h=s.bn(h).view(B,s.K,-1).transpose(0,1)
        o=(torch.bmm(h,s.W2)+s.b2).transpose(0,1).reshape(B,-1)
        return o[:,s.idx]
if a.blocks:
    G=Local(a.blocks,a.latent//a.blocks,a.hidden//a.blocks)
layers=[torch.nn.Linear(a.latent,a.hidden),torch.nn.ReLU(),torch.nn.BatchNorm1d(a.hidden)]
for _ in range(a.depth-1): layers+=[torch.nn.Linear(a.hidden,a.hidden),torch.nn.ReLU(),torch.nn.BatchNorm1d(a.hidden)]
layers+=[torch.nn.Linear(a.hidden,M)]
G=G if a.blocks else torch.nn.Sequential(*layers)
opt=torch.optim.Adam(G.parameters(),lr=a.lr,betas=(0.5,0.999))
maskt=torch.from_numpy(~mono).float()
def gen(n):
    h=G(torch.randn(n,a.latent))
    x=Q.apply(h) if a.output=='quantizer' else torch.sigmoid(h)
    if a.mask: x=x*maskt+torch.from_numpy(np.round(af)*mono).float()
    return x
fs=make_feats(a.seed); mus=sketch(fs); t0=time.time(); ri=0
for step in range(a.steps):
    if a.restart and step>0 and step%a.restart==0:
        ri+=1; fs=make_feats(a.seed+ri); mus=sketch(fs)
    x=gen(a.batch); loss=0
    for (n,wt,fn),mu in zip(fs,mus): loss=loss+wt*((fn(x).mean(0)-mu)**2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    if step%200==0: print(step, float(loss), f'{time.time()-t0:.0f}s', flush=True)
ttrain=time.time()-t0
G.eval()
with torch.no_grad():
    S=gen(N).numpy()
    if a.output!='quantizer': S=(S>=0.5).astype(np.float32)
np.save(f'syn_{a.tag or "last"}.npy',S.astype(np.int8))
# eval
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.model_selection import train_test_split
Z=np.vstack([X,S]); y=np.r_[np.zeros(N),np.ones(N)]
Ztr,Zte,ytr,yte=train_test_split(Z,y,test_size=0.33,random_state=0,stratify=y)
res={}
res['LR']=LogisticRegression(C=1.0,max_iter=300).fit(Ztr,ytr).score(Zte,yte)
res['KNN']=KNeighborsClassifier(5).fit(Ztr,ytr).score(Zte,yte)
res['MLP']=MLPClassifier((100,),early_stopping=True,random_state=0,max_iter=200).fit(Ztr,ytr).score(Zte,yte)
res['Delta']=max(abs(v-0.5) for v in res.values())
saf=S.mean(0); res['AF']=float(np.corrcoef(af,saf)[0,1])
def ldv(A,maxd=50):
    A=A-A.mean(0); sd=A.std(0)+1e-9; out=[]
    for d in range(1,maxd+1):
        c=(A[:,:-d]*A[:,d:]).mean(0)/(sd[:-d]*sd[d:]); out.append(c**2)
    return np.concatenate(out)
poly=~mono
lr_,ls_=ldv(X[:,poly]),ldv(S[:,poly]); res['LD']=float(np.corrcoef(lr_,ls_)[0,1])
import scipy.spatial.distance as sdist
D_rs=sdist.cdist(X,S,'cityblock'); D_rr=sdist.cdist(X,X,'cityblock'); D_ss=sdist.cdist(S,S,'cityblock')
np.fill_diagonal(D_rr,np.inf); np.fill_diagonal(D_ss,np.inf)
aats=0.5*((D_rr.min(1)<D_rs.min(1)).mean()+(D_ss.min(1)<D_rs.min(0)).mean()); res['AATS']=float(aats)
res['ident']=float((D_rs.min(0)==0).mean())
res['cnt_sd_real']=float(X.sum(1).std()); res['cnt_sd_syn']=float(S.sum(1).std())
res['nn_rr']=float(np.median(D_rr.min(1))); res['nn_ss']=float(np.median(D_ss.min(1))); res['nn_sr']=float(np.median(D_rs.min(0)))
res['time']=ttrain
print('RESULT',a.tag,' '.join(f'{k}={v:.3f}' for k,v in res.items()),flush=True)
