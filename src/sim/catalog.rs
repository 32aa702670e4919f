//! Static reference data the population draws from: flavors, images, pools,
//! users, workspaces, names. Shared by index so 10,000 instances stay small.

pub struct Flavor {
    pub name: &'static str,
    pub arch: Arch,
    /// (gpu count, cpu cores, memory GiB, gpu type)
    pub spec: (u32, u32, u32, &'static str),
    pub category: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arch {
    X86,
    Arm,
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86 => "X86_64",
            Arch::Arm => "AARCH64",
        }
    }
}

/// Index of the free CodeLab flavor in [`FLAVORS`].
pub const FREE_FLAVOR: u8 = 0;

pub const FLAVORS: &[Flavor] = &[
    Flavor {
        name: "modelarts.vm.cpu.free",
        arch: Arch::X86,
        spec: (0, 1, 4, ""),
        category: "CPU",
    },
    Flavor {
        name: "modelarts.vm.cpu.2u",
        arch: Arch::X86,
        spec: (0, 2, 8, ""),
        category: "CPU",
    },
    Flavor {
        name: "modelarts.vm.cpu.8u",
        arch: Arch::X86,
        spec: (0, 8, 32, ""),
        category: "CPU",
    },
    Flavor {
        name: "modelarts.vm.gpu.t4",
        arch: Arch::X86,
        spec: (1, 8, 32, "T4"),
        category: "GPU",
    },
    Flavor {
        name: "modelarts.vm.gpu.v100",
        arch: Arch::X86,
        spec: (1, 8, 64, "V100"),
        category: "GPU",
    },
    Flavor {
        name: "modelarts.vm.gpu.pnt1",
        arch: Arch::X86,
        spec: (1, 8, 64, "PNT1"),
        category: "GPU",
    },
    Flavor {
        name: "modelarts.vm.npu.arm.1snt9b",
        arch: Arch::Arm,
        spec: (1, 24, 192, "Ascend-snt9b"),
        category: "ASCEND",
    },
    Flavor {
        name: "modelarts.bm.npu.arm.8snt9b3.d",
        arch: Arch::Arm,
        spec: (8, 192, 1536, "Ascend-snt9b3"),
        category: "ASCEND",
    },
    Flavor {
        name: "modelarts.vm.cpu.arm.4u",
        arch: Arch::Arm,
        spec: (0, 4, 16, ""),
        category: "CPU",
    },
];

/// Relative frequency of each flavor for billed instances (the free one excluded).
pub const FLAVOR_WEIGHTS: &[u64] = &[0, 30, 12, 20, 8, 6, 8, 4, 4];

pub struct ImageInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub namespace: &'static str,
    pub tag: &'static str,
    pub dedicated: bool,
    pub arch: Arch,
    pub description: &'static str,
    /// KB
    pub size: i64,
    pub create_at: i64,
}

pub const IMAGES: &[ImageInfo] = &[
    ImageInfo {
        id: "e1a07296-22a8-4f05-8bc8-e936c8e54090",
        name: "notebook2.0-mul-kernel-cpu-cp36",
        namespace: "atelier",
        tag: "3.3.2-release_v1",
        dedicated: false,
        arch: Arch::X86,
        description: "multi-kernel CPU image, Python 3.6",
        size: 3_254_112,
        create_at: 1_638_840_000_000,
    },
    ImageInfo {
        id: "278e88d1-5b71-4766-8502-b3ba72e824d9",
        name: "pytorch1.8-cuda10.2-cudnn7-ubuntu18.04",
        namespace: "atelier",
        tag: "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64-20220926104358-041ba2e",
        dedicated: false,
        arch: Arch::X86,
        description: "PyTorch 1.8, CUDA 10.2, Ubuntu 18.04",
        size: 8_912_004,
        create_at: 1_664_160_238_000,
    },
    ImageInfo {
        id: "7a6c5d1e-3f2b-4c8d-9e0f-1a2b3c4d5e6f",
        name: "tensorflow2.1-cuda10.1-cudnn7-ubuntu18.04",
        namespace: "atelier",
        tag: "tensorflow_2.1.0-cuda_10.1-py_3.7-ubuntu_18.04-x86_64-20221121111529-d65d817",
        dedicated: false,
        arch: Arch::X86,
        description: "TensorFlow 2.1, CUDA 10.1",
        size: 7_455_810,
        create_at: 1_669_000_529_000,
    },
    ImageInfo {
        id: "b5f8a0c2-9d41-4e3a-8c77-5e2f1d0a9b13",
        name: "mindspore_2.2.0-cann_7.0.1-py_3.9-euler_2.10.7-aarch64-snt9b",
        namespace: "atelier",
        tag: "20231211113216-7c4ac9b",
        dedicated: false,
        arch: Arch::Arm,
        description: "MindSpore 2.2 on Ascend, CANN 7.0.1",
        size: 12_770_304,
        create_at: 1_702_265_536_000,
    },
    ImageInfo {
        id: "c0e9d8f7-6a5b-4c3d-8e2f-0a1b2c3d4e5f",
        name: "pytorch_2.1.0-cann_8.0.rc2-py_3.9-euler_2.10.7-aarch64-snt9b",
        namespace: "atelier",
        tag: "20240606190017-7a10c6e",
        dedicated: false,
        arch: Arch::Arm,
        description: "PyTorch 2.1 on Ascend, CANN 8.0.RC2",
        size: 14_102_538,
        create_at: 1_717_671_617_000,
    },
    ImageInfo {
        id: "4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a",
        name: "llm-dev",
        namespace: "team-ai",
        tag: "v1.3",
        dedicated: true,
        arch: Arch::X86,
        description: "team LLM fine-tuning image (vLLM, DeepSpeed)",
        size: 21_406_720,
        create_at: 1_726_000_000_000,
    },
    ImageInfo {
        id: "9e8d7c6b-5a49-4837-a625-140f3e2d1c0b",
        name: "ascend-llm-dev",
        namespace: "team-ai",
        tag: "v0.9-aarch64",
        dedicated: true,
        arch: Arch::Arm,
        description: "custom Ascend image with MindFormers",
        size: 18_874_368,
        create_at: 1_730_000_000_000,
    },
];

pub struct PoolInfo {
    pub id: &'static str,
    pub name: &'static str,
}

pub const POOLS: &[PoolInfo] = &[
    PoolInfo {
        id: "pool-7f3a2c1e9b5d4a60",
        name: "pool-gpu-team-a",
    },
    PoolInfo {
        id: "pool-0b8e6d4c2a1f3e57",
        name: "pool-npu-llm",
    },
    PoolInfo {
        id: "pool-5c4d3e2f1a0b9c88",
        name: "资源池-实验",
    },
];

pub struct UserInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub domain: usize,
}

pub const DOMAINS: &[(&str, &str)] = &[
    ("4b1c2d3e4f5061728394a5b6c7d8e9f0", "acme-ml"),
    ("0f9e8d7c6b5a49382716a5b4c3d2e1f0", "партнёр-lab"),
];

/// `USERS[CALLER]` is the user the simulator's credentials belong to
/// (what `GET /v1/{project_id}/notebooks` returns).
pub const CALLER: usize = 0;

pub const USERS: &[UserInfo] = &[
    UserInfo {
        id: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        name: "ma-user-demo",
        domain: 0,
    },
    UserInfo {
        id: "b2c3d4e5f60718293a4b5c6d7e8f90a1",
        name: "zhang.wei",
        domain: 0,
    },
    UserInfo {
        id: "c3d4e5f60718293a4b5c6d7e8f90a1b2",
        name: "jürgen.müller",
        domain: 0,
    },
    UserInfo {
        id: "d4e5f60718293a4b5c6d7e8f90a1b2c3",
        name: "priya_n",
        domain: 0,
    },
    UserInfo {
        id: "e5f60718293a4b5c6d7e8f90a1b2c3d4",
        name: "ops-bot",
        domain: 1,
    },
    UserInfo {
        id: "f60718293a4b5c6d7e8f90a1b2c3d4e5",
        name: "李娜",
        domain: 1,
    },
];

pub const USER_WEIGHTS: &[u64] = &[35, 20, 15, 15, 5, 10];

/// Workspace ids: "0" is the default workspace.
pub const WORKSPACES: &[&str] = &[
    "0",
    "8f2a1c3e5b7d4f6a9c0e1b2d3f4a5c6e",
    "1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a",
];

pub const WORKSPACE_WEIGHTS: &[u64] = &[70, 20, 10];

pub const NAME_STEMS: &[&str] = &[
    "llm-finetune",
    "bert_pretrain",
    "resnet50-train",
    "data-clean",
    "qwen7b-sft",
    "yolo_v8_eval",
    "mindspore-demo",
    "中文实验",
    "模型训练",
    "über-test",
    "jürgen_nb",
    "feature_eng",
    "rlhf-reward",
    "asr-whisper",
    "notebook",
    "tmp_debug",
    "ocr-数据",
    "ts_forecast",
];

pub const DESCRIPTIONS: &[&str] = &[
    "",
    "api-test",
    "fine-tune Qwen 7B on support tickets",
    "数据预处理",
    "nightly eval",
    "Prüfung der Modelle",
    "scratch space",
    "do not delete",
];

pub const TAGS: &[(&str, &str)] = &[
    ("team", "nlp"),
    ("env", "dev"),
    ("cost-center", "cc-1024"),
    ("project", "大模型"),
    ("owner", "ops"),
];

/// (step, fail reason) for creation failures.
pub const CREATE_FAILURES: &[(usize, &str)] = &[
    (
        1,
        "Failed to create EVS volume: the EVS quota of the project is insufficient.",
    ),
    (
        2,
        "Insufficient resources: the flavor is sold out in the selected availability zone. Try again later or choose another flavor.",
    ),
    (
        3,
        "Failed to configure the network: no free IP address in subnet subnet-ma-default.",
    ),
    (
        4,
        "Failed to pull image: manifest unknown (the SWR image may have been deleted).",
    ),
];

pub const START_FAILURES: &[&str] = &[
    "Insufficient resources: no node in the resource pool can satisfy the request.",
    "Failed to mount the storage volume: SFS Turbo file system is unavailable.",
    "Instance failed the health check within 600 seconds.",
];

pub const ERROR_REASONS: &[&str] = &[
    "The node hosting the instance is faulty. Stop and restart the instance.",
    "Container exited unexpectedly (OOMKilled).",
];

pub const FROZEN_REASONS: &[&str] = &[
    "The account is in arrears; resources are frozen.",
    "Frozen by the administrator for a security review.",
];
